"""No acknowledged message is lost or duplicated when the hub is killed (kill -9) mid-write (issue 5).

The hub runs as a real process (`python -m handoff`) on its own SQLite file; Rasa is not running, so every
conversation is queued and customers are answered with system notices. Customers and an agent write at
once; the hub is sent SIGKILL while writes are in flight; after a restart on the same file every
acknowledged message (a 2xx answer: the customer's message itself, each message id the answer carried,
each agent message id) is there exactly once, read back through the API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from handoff.repository import create_engine
from handoff.settings import ROOT
from tests.handoff.conftest import AGENTS, free_port
from tests.handoff.test_main import environment

pytestmark = pytest.mark.sqlite_only("SQLite's write-ahead log: a killed process on one file, WAL pragmas")

SENDERS = 10
CLAIMED = 5  # conversations ana takes; she writes in each of them during the storm
CUSTOMER_ACKS = 40  # acknowledged customer messages (during the storm) before the kill...
AGENT_ACKS = 10  # ...and agent messages


@dataclass
class Hub:
    process: subprocess.Popen[bytes]
    url: str


@contextmanager
def hub_process(tmp_path: Path, name: str) -> Iterator[Hub]:
    """`python -m handoff` on tmp_path/nested/hub.db (the same file every time), Rasa unreachable."""
    port = free_port()
    env = environment(tmp_path, port, CANDOR_RASA_URL=f"http://127.0.0.1:{free_port()}", CANDOR_RASA_TIMEOUT="1")
    with (tmp_path / f"{name}.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "handoff"], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).json() == {"status": "ok"}:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None, (tmp_path / f"{name}.log").read_text()
                assert time.monotonic() < deadline, "the hub did not start"
                time.sleep(0.1)
            yield Hub(process, url)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@dataclass
class Ledger:
    """What the hub acknowledged before it was killed, and how the kill met the writes."""

    conversations: dict[str, int] = field(default_factory=dict)  # sender -> conversation id
    customer: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)  # sender, text, answer
    agent: list[dict[str, Any]] = field(default_factory=list)  # the 201 bodies
    refused: list[tuple[int, str]] = field(default_factory=list)  # answers that were not 2xx
    storm_customer_acks: int = 0
    in_flight_at_kill: int = 0
    cut_off: int = 0  # requests sent before the kill that never got an answer

    def answered_ids(self) -> list[int]:
        """Ids in customers' webhook answers: system notices, and agent messages handed out."""
        return [m["id"] for _, _, answer in self.customer for m in answer]


async def write_until_killed(url: str, pid: int, ledger: Ledger) -> None:
    """Queue ten conversations, let ana claim five, then customers and ana write at once; SIGKILL the hub
    as soon as enough is acknowledged, while the other writers wait for answers."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        login = await client.post("/api/agent/login", json={"username": "ana", "password": AGENTS["ana"]})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        senders = [f"durability-{i:06d}" for i in range(SENDERS)]
        for sender in senders:  # Rasa is down: each conversation is queued, with a system notice
            answer = await client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": f"{sender} first", "metadata": {}}
            )
            assert answer.status_code == 200, answer.text
            ledger.customer.append((sender, f"{sender} first", answer.json()))
        queue = await client.get("/api/agent/queue", headers=headers)
        ledger.conversations = {item["sender"]: item["conversation_id"] for item in queue.json()["queued"]}
        assert sorted(ledger.conversations) == senders
        for sender in senders[:CLAIMED]:
            claim = await client.post(f"/api/agent/conversations/{ledger.conversations[sender]}/claim", headers=headers)
            assert claim.status_code == 200, claim.text

        killed: list[float] = []
        in_flight = 0

        def kill_when_enough() -> None:
            nonlocal in_flight
            if not killed and ledger.storm_customer_acks >= CUSTOMER_ACKS and len(ledger.agent) >= AGENT_ACKS:
                os.kill(pid, signal.SIGKILL)
                killed.append(time.monotonic())
                ledger.in_flight_at_kill = in_flight

        async def send(path: str, **kwargs: Any) -> httpx.Response | None:
            nonlocal in_flight
            sent = time.monotonic()
            in_flight += 1
            try:
                return await client.post(path, **kwargs)
            except httpx.TransportError:
                if killed and sent < killed[0]:
                    ledger.cut_off += 1
                return None
            finally:
                in_flight -= 1

        async def customer(sender: str) -> None:
            n = 0
            while not killed:
                n += 1
                text = f"{sender} message {n}"
                response = await send("/webhooks/rest/webhook", json={"sender": sender, "message": text})
                if response is None:
                    return
                if response.is_success:
                    ledger.customer.append((sender, text, response.json()))
                    ledger.storm_customer_acks += 1
                    kill_when_enough()
                else:
                    ledger.refused.append((response.status_code, response.text))

        async def agent(conversation_id: int) -> None:
            n = 0
            while not killed:
                n += 1
                text = f"ana in {conversation_id}: message {n}"
                path = f"/api/agent/conversations/{conversation_id}/messages"
                response = await send(path, json={"text": text}, headers=headers)
                if response is None:
                    return
                if response.is_success:
                    ledger.agent.append(response.json())
                    kill_when_enough()
                else:
                    ledger.refused.append((response.status_code, response.text))

        writers = [customer(s) for s in senders] + [agent(ledger.conversations[s]) for s in senders[:CLAIMED]]
        await asyncio.wait_for(asyncio.gather(*writers), timeout=120)
        assert killed, "the hub was never killed"


async def read_back(url: str, ledger: Ledger) -> tuple[dict[int, list[dict[str, Any]]], dict[str, list[int]]]:
    """Each conversation's transcript (agent API, every role) and each sender's chat poll ids, from id 0."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        login = await client.post("/api/agent/login", json={"username": "ana", "password": AGENTS["ana"]})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        transcripts: dict[int, list[dict[str, Any]]] = {}
        polled: dict[str, list[int]] = {}
        for sender, conversation_id in ledger.conversations.items():
            found = await client.get(f"/api/agent/conversations/{conversation_id}/messages?after=0", headers=headers)
            assert found.status_code == 200, found.text
            transcripts[conversation_id] = found.json()["messages"]
            chat = await client.get(f"/api/chat/{sender}/messages?after=0")
            assert chat.status_code == 200, chat.text
            polled[sender] = [m["id"] for m in chat.json()["messages"]]
        return transcripts, polled


async def resume_after_restart(url: str, sender: str, cursor: int) -> tuple[list[int], list[int]]:
    """The sender writes again after the restart: (ids in the answer, ids of a poll after its old cursor)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        answer = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "back again?"})
        assert answer.status_code == 200, answer.text
        poll = await client.get(f"/api/chat/{sender}/messages?after={cursor}")
        assert poll.status_code == 200, poll.text
        return [m["id"] for m in answer.json()], [m["id"] for m in poll.json()["messages"]]


def test_a_hub_killed_mid_write_keeps_every_acknowledged_message_exactly_once(tmp_path: Path) -> None:
    ledger = Ledger()
    database = tmp_path / "nested" / "hub.db"
    with hub_process(tmp_path, "first") as first:
        asyncio.run(write_until_killed(first.url, first.process.pid, ledger))
        assert first.process.wait(10) == -signal.SIGKILL
    # Killed mid-write: writes were waiting for answers, some never got one, and the write-ahead log was left
    # behind un-checkpointed (a clean stop removes it), so the restart has to recover from it.
    assert ledger.in_flight_at_kill >= 1 and ledger.cut_off >= 1, (ledger.in_flight_at_kill, ledger.cut_off)
    assert Path(f"{database}-wal").stat().st_size > 0

    with hub_process(tmp_path, "restarted") as restarted:
        transcripts, polled = asyncio.run(read_back(restarted.url, ledger))
        by_id = {m["id"]: (conversation_id, m) for conversation_id, ms in transcripts.items() for m in ms}
        listed = [m["id"] for ms in transcripts.values() for m in ms]
        assert len(listed) == len(set(listed)) == len(by_id)

        # Every id the hub acknowledged is there once, in its conversation, as it was answered.
        answered = ledger.answered_ids()
        assert len(answered) == len(set(answered))  # no message went out in two webhook answers
        acknowledged = set(answered) | {m["id"] for m in ledger.agent}
        assert sorted(i for i in acknowledged if i not in by_id) == []
        for sender, _text, answer in ledger.customer:
            conversation_id = ledger.conversations[sender]
            for shaped in answer:
                stored_in, stored = by_id[shaped["id"]]
                assert stored_in == conversation_id
                assert (stored["role"], stored["text"]) == (shaped["custom"]["from"], shaped["text"])
                assert polled[sender].count(shaped["id"]) == 1
        for posted in ledger.agent:
            stored_in, stored = by_id[posted["id"]]
            assert (stored_in, stored["role"], stored["text"]) == (posted["conversation_id"], "agent", posted["text"])

        # Every acknowledged customer message is stored once (its answer carries no id of its own: by text,
        # each text being unique), and nothing written in the storm, acknowledged or not, is there twice.
        written = Counter(
            (conversation_id, m["role"], m["text"])
            for conversation_id, ms in transcripts.items()
            for m in ms
            if m["role"] in ("customer", "agent")
        )
        for sender, text, _answer in ledger.customer:
            assert written[(ledger.conversations[sender], "customer", text)] == 1, (sender, text)
        assert [key for key, count in written.items() if count > 1] == []

        # Ids go on after the restart: a customer's old cursor still finds what is new.
        sender = f"durability-{SENDERS - 1:06d}"  # still queued: its answer is a queue notice
        cursor = max(m["id"] for s, _, answer in ledger.customer if s == sender for m in answer)
        new_ids, resumed = asyncio.run(resume_after_restart(restarted.url, sender, cursor))
        assert new_ids and min(new_ids) > max(listed)
        assert set(new_ids) <= set(resumed) and all(i > cursor for i in resumed)
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.process.wait(15) == 0

    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    unacknowledged = len(listed) - len(acknowledged) - len(ledger.customer)
    print(  # shown with -s: how the kill met the writes
        f"acknowledged: {len(ledger.customer)} customer messages ({len(answered)} ids in their answers),"
        f" {len(ledger.agent)} agent messages; in flight at the kill: {ledger.in_flight_at_kill},"
        f" cut off: {ledger.cut_off}; stored but never acknowledged: {unacknowledged}; refused: {ledger.refused}"
    )


async def test_the_hub_commits_in_wal_mode_with_synchronous_normal(tmp_path: Path) -> None:
    """What docs/hub-api.md ("Delivery and resume") states: a commit is in the write-ahead log before the
    answer, which a process crash cannot undo; NORMAL syncs the log at checkpoints, not at every commit."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        async with engine.connect() as connection:
            journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            synchronous = (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()
    finally:
        await engine.dispose()
    assert (journal, synchronous) == ("wal", 1)  # 1 = NORMAL
