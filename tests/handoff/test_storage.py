"""SQLite under load (issue 5): WAL, writes serialised at BEGIN, no "database is locked" with 50 writers.

Several hubs share one database file: two apps in this process, then four `python -m handoff` processes
started at once. Over real HTTP, 50 customers write at once, then 50 escalations, 100 claims (two agents
per conversation) and 50 agent messages with 50 more customer messages. Every request succeeds (or loses
its claim with 409), no answer or log mentions a locked database, and the file holds every acknowledged
write exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from test_main import environment

from handoff.repository import Repository, create_engine
from handoff.settings import ROOT
from tests.handoff.conftest import customer_token

pytestmark = pytest.mark.sqlite_only("reads the SQLite file (WAL, rows) and runs processes on one file")

WRITERS = 50
LOCKED = "database is locked"
PASSWORDS = {"ana": "candor-demo-ana", "ben": "candor-demo-ben"}  # the demo seed's agents (handoff/README.md)
ESCALATION = {"reason": "customer_requested_human", "summary": "Load test: no internet.", "problem": "internet down"}


async def at_once(
    requests: Iterable[Awaitable[httpx.Response]], what: str, ok: tuple[int, ...]
) -> list[httpx.Response]:
    """Send the requests together; fail naming every answer whose status is not in `ok` or that says locked."""
    answers = await asyncio.gather(*requests)
    bad = [f"{a.status_code} {a.text[:300]}" for a in answers if a.status_code not in ok or LOCKED in a.text]
    assert not bad, f"{what}: {len(bad)} of {len(answers)} answers failed, e.g. {bad[:3]}"
    return answers


async def write_at_once(clients: list[httpx.AsyncClient], bot_headers: dict[str, str]) -> list[str]:
    """The four waves of writers, spread over the hubs behind `clients`; the senders used."""
    senders = [f"load-{i}-{uuid.uuid4().hex[:12]}" for i in range(WRITERS)]

    def door(i: int) -> httpx.AsyncClient:
        return clients[i % len(clients)]

    def say(i: int, text: str, via: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        body = {
            "sender": senders[i],
            "message": f"{text} {senders[i]}",
            "metadata": {"customer_token": customer_token("C-1001")},
        }
        return via.post("/webhooks/rest/webhook", json=body)

    await at_once((say(i, "first", door(i)) for i in range(WRITERS)), "first customer messages", ok=(200,))
    escalated = await at_once(
        (
            door(i + 1).post(f"/api/bot/conversations/{s}/escalate", json=ESCALATION, headers=bot_headers)
            for i, s in enumerate(senders)
        ),
        "escalations",
        ok=(200,),
    )
    assert {e.json()["state"] for e in escalated} == {"queued"}

    agents = {}
    for name, client in (("ana", clients[0]), ("ben", clients[-1])):
        login = await client.post("/api/agent/login", json={"username": name, "password": PASSWORDS[name]})
        assert login.status_code == 200, login.text
        agents[name] = {"Authorization": f"Bearer {login.json()['token']}"}
    queue = (await clients[0].get("/api/agent/queue", headers=agents["ana"])).json()["queued"]
    ids = {item["sender"]: item["conversation_id"] for item in queue}
    assert set(ids) == set(senders)

    claims = await at_once(
        (
            door(i + who).post(f"/api/agent/conversations/{ids[s]}/claim", headers=agents[name])
            for i, s in enumerate(senders)
            for who, name in enumerate(("ana", "ben"))
        ),
        "claims",
        ok=(200, 409),
    )
    winners = []
    for i in range(WRITERS):
        ana, ben = claims[2 * i], claims[2 * i + 1]
        assert sorted([ana.status_code, ben.status_code]) == [200, 409], (ana.text, ben.text)
        winners.append("ana" if ana.status_code == 200 else "ben")

    agent_messages = (
        door(i).post(
            f"/api/agent/conversations/{ids[s]}/messages", json={"text": f"agent {s}"}, headers=agents[winners[i]]
        )
        for i, s in enumerate(senders)
    )
    customer_messages = (say(i, "second", door(i + 1)) for i in range(WRITERS))
    await at_once([*agent_messages, *customer_messages], "agent and customer messages", ok=(200, 201))
    return senders


def check_store(database: Path, senders: list[str]) -> None:
    """Each acknowledged write is in the file once, and nothing else was written."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        roles = dict(db.execute("SELECT role, COUNT(*) FROM messages GROUP BY role").fetchall())
        # Each claim won told its customer who has the conversation: one system notice each.
        assert roles == {"customer": 2 * WRITERS, "bot": 2 * WRITERS, "agent": WRITERS, "system": WRITERS}
        notices = db.execute(
            "SELECT c.sender, m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE m.role = 'system'"
        ).fetchall()
        assert sorted(sender for sender, _ in notices) == sorted(senders)
        assert {text for _, text in notices} <= {
            f"{n} from the team has this conversation now." for n in ("Ana", "Ben")
        }
        written = db.execute(
            "SELECT c.sender, m.role, m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE m.role NOT IN ('bot', 'system')"
        ).fetchall()
        expected = [(s, "customer", f"{when} {s}") for s in senders for when in ("first", "second")]
        expected += [(s, "agent", f"agent {s}") for s in senders]
        assert sorted(written) == sorted(expected)
        conversations = db.execute("SELECT sender, state FROM conversations").fetchall()
        assert sorted(conversations) == sorted((s, "agent") for s in senders)
        escalations = db.execute("SELECT state, COUNT(*), COUNT(DISTINCT conversation_id) FROM escalations")
        assert escalations.fetchall() == [("agent", WRITERS, WRITERS)]
        actions = dict(db.execute("SELECT action, COUNT(*) FROM audit GROUP BY action").fetchall())
        wanted = {"conversation_started": WRITERS, "escalated": WRITERS, "claimed": WRITERS, "login": 2}
        assert {a: actions.get(a, 0) for a in wanted} == wanted


def assert_clean_log(text: str, where: str) -> None:
    for mark in (LOCKED, "Traceback", "ERROR"):
        assert mark not in text, f"{where} logged {mark!r}:\n{text[-3000:]}"


async def test_fifty_writers_on_two_hubs_sharing_one_file(
    start_hub: Callable[..., Any], make_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Each start_hub() is another app on the same file (as in test_two_agents_claiming_at_once_exactly_one_wins).
    # Rasa's timeout is generous: a slow fake Rasa under load would add queue notices, not test storage.
    hubs = [await start_hub(make_settings(CANDOR_RASA_TIMEOUT="10")) for _ in range(2)]
    started = time.perf_counter()
    senders = await write_at_once([h.client for h in hubs], hubs[0].bot_headers)
    print(f"\nstorage, 2 apps in one process: the writers took {time.perf_counter() - started:.2f} s")

    check_store(Path(str(make_url(hubs[0].settings.database_url).database)), senders)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert_clean_log(caplog.text, "the hubs")


async def test_fifty_writers_on_four_hub_processes_sharing_one_file(
    tmp_path: Path, make_settings: Callable[..., Any], fake_rasa: Any
) -> None:
    # Started at once, as a supervisor would: table creation and the seed upsert race too.
    ports = [make_settings().port for _ in range(4)]
    envs = [environment(tmp_path, port, CANDOR_RASA_URL=fake_rasa.url, CANDOR_RASA_TIMEOUT="10") for port in ports]
    logs = [tmp_path / f"hub-{port}.log" for port in ports]
    processes = []
    try:
        for env, log in zip(envs, logs, strict=True):
            with log.open("wb") as out:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "handoff", cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
                    )
                )
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
        try:
            for client, process, log in zip(clients, processes, logs, strict=True):
                await wait_until_healthy(client, process, log)
            started = time.perf_counter()
            senders = await write_at_once(clients, {"X-Candor-Service-Token": envs[0]["CANDOR_SERVICE_TOKEN"]})
            print(f"\nstorage, 4 hub processes: the writers took {time.perf_counter() - started:.2f} s")
        finally:
            for client in clients:
                await client.aclose()
        check_store(tmp_path / "nested" / "hub.db", senders)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process, log in zip(processes, logs, strict=True):
            assert await asyncio.wait_for(process.wait(), 15) == 0, log.read_text()
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    for log in logs:
        assert_clean_log(log.read_text(), log.name)


async def wait_until_healthy(client: httpx.AsyncClient, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if (await client.get("/health", timeout=1)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.returncode is not None or time.monotonic() > deadline:
            output = await asyncio.to_thread(log.read_text)
            raise AssertionError(f"a hub process did not start (exit code {process.returncode}):\n{output}")
        await asyncio.sleep(0.2)


async def test_busy_timeout_is_set_on_every_connection(tmp_path: Path) -> None:
    repository = Repository(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}", busy_timeout=2.5))
    try:
        async with repository.engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 2500
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await repository.engine.dispose()
