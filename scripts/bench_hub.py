"""How fast is the handoff hub on this machine, with SQLite? `make bench-hub` prints it.

Run: `.venv-hub/bin/python scripts/bench_hub.py` (about two minutes with the defaults). The script starts its own
hub (`python -m handoff`: a new SQLite file in a temporary folder, a free port, the three rate limits set to
1000000 a minute since every request comes from 127.0.0.1) and a fake Rasa server (this script with
`--serve-fake-rasa PORT`: answers every message at once with `[{"recipient_id": sender, "text": "ok"}]`), then
measures, in this order:

1. Bot turn: the hub's added latency. `--turns` sequential customer messages through the hub's REST webhook
   (the hub stores the message, calls Rasa, stores the answer, replies), interleaved with as many posted
   straight to Rasa's own webhook (which of the two goes first alternates), after WARMUP_TURNS of each.
   Added latency = p50 of hub turns minus p50 of direct turns (and the same at p95). `--rasa-url URL` measures
   against a real Rasa server already running there instead (the hub is then started with CANDOR_RASA_URL=URL;
   the real bot's dialogue decides what it answers, and a hub turn without a bot answer counts as failed).
2. Escalation to agent notified. Each of `--conversations` customers sends a first message (answered by the
   bot), then the bot endpoint escalates the conversations at evenly spread moments over ESCALATION_WINDOW
   seconds. `--agents` agents (ana and ben of the demo seed, then agents added with `python -m handoff.cli
   add-agent`) each poll `GET /api/agent/queue` every `--poll-interval` seconds, staggered. Figure: from sending
   the escalate POST to the first queue answer that lists the conversation, waiting ("queued": its agent, one
   of the agents in turn, claims it) or already given to that agent by the hub's routing ("mine"; a hub that
   assigns, CANDOR_ASSIGNMENT=auto, does so up to each agent's capacity). The definition line says how many
   of each.
3. Relay during handoff, no Rasa in the loop. Once every conversation has its agent, each customer posts messages
   to the webhook and each conversation's agent posts to `POST /api/agent/conversations/{id}/messages`, back to
   back, for `--seconds`, with at most `--in-flight` requests (default: one per conversation) in flight.
   Relayed messages/s = messages stored and acknowledged (200/201) during the window, both directions, per
   second. The POST latency is measured at saturation, so it is mostly time spent waiting in the hub.
3b. Relay at a set rate. `--relay-rate` messages a second (default 500, the issue's aim) offered open loop for
   `--seconds`: one every 1/rate s, each its own request whatever the answers so far, customers and agents in turn.
   Figure: a POST's latency at that rate (phase 3's latency is mostly the wait in its queue of `--in-flight`).
4. Agent message to customer. For `--seconds`, each conversation's agent sends a message every
   AGENT_MESSAGE_EVERY seconds (jittered) while each customer keeps one long poll open, as the widget does
   (`GET /api/chat/{sender}/messages?after=<id>&wait=<--long-poll>`, answered as soon as a message is stored;
   `--long-poll 0`: plain polls `--poll-interval` seconds apart). Figure: from sending the agent's POST to the
   first poll answer that lists the message; also how long one poll takes and how many polls/s were answered.
5. Zero lost. Every message the hub acknowledged in phases 2-4 is looked up in its conversation's transcript
   (`GET /api/agent/conversations/{id}/messages?after=0`): lost = acknowledged but absent, duplicated =
   stored more than once. The script exits 1 if either is not zero (missed aims do not change the exit code).

Agents have no push channel for the queue yet (the console polls it every 3 s), so figure 2 includes the
wait for the agents' next queue poll: its p95 cannot be much below 0.95 times `--poll-interval`.

Phases 1, 3 and 4 also give the hub's CPU time per request (per bot turn, per relayed message, per agent message
delivered): the hub process's user + system CPU over the phase divided by the requests it answered. It moves less
than the rates and latencies when other work shares the machine's cores, so it is the figure to compare changes by.

The output: each phase's figures with a one-line definition, then a Markdown table of all of them with the
issue's aims (added latency < 5 ms at p50, relay p95 < 50 ms: applied to agent message to customer, >= 500
relayed messages/s, zero lost) marked PASS or MISS, and the machine's facts. The bench client, the hub and the
fake Rasa share the machine's cores: the table shows the hub's and the client's CPU use during the relay. The
client is a small HTTP/1.1 one of its own (see "HTTP" below: httpx was too slow to load the hub).
`--seed` fixes senders, texts and pacing; `--json PATH` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import uvloop
from stack import HUB_PYTHON, ROOT, StackError, free_port, wait_until_ready

HOST = "127.0.0.1"
UNLIMITED = "1000000"  # the highest rate limit the hub accepts (a minute)
WARMUP_TURNS = 30
TURN_SENDERS = 10  # the bot turns rotate over this many conversations (and as many direct Rasa senders)
ESCALATION_WINDOW = 10.0  # seconds over which the conversations are escalated, evenly
AGENT_MESSAGE_EVERY = 5.0  # seconds between one agent's messages in phase 4 (jittered by +-50 %)
REQUEST_TIMEOUT = 30.0
IDLE_LIMIT = 60.0  # seconds a kept-alive connection is reused after (Sanic closes idle ones after 120)
STOP_GRACE = 15.0  # seconds the hub and fake Rasa get to stop after SIGTERM
DEMO_AGENTS = {"ana": "candor-demo-ana", "ben": "candor-demo-ben"}  # handoff/README.md
SERVICE_HEADER = "X-Candor-Service-Token"
CUSTOMER_TEXTS = (
    "my internet has been down since this morning",
    "the router shows a red light",
    "I already restarted it twice",
    "can you tell me when it comes back?",
    "I work from home and need it today",
    "thanks, I'll wait",
)
AGENT_TEXTS = (
    "I'm looking at your line now",
    "there is an outage in your area; engineers are on it",
    "the estimate is 18:00 today",
    "I'll credit this month's fee for the outage",
    "anything else I can do for you?",
)


@dataclass(frozen=True)
class Options:
    conversations: int
    turns: int
    seconds: float
    agents: int
    in_flight: int
    relay_rate: float  # phase 3b: messages offered per second, open loop
    poll_interval: float
    long_poll: int  # the customers' chat poll waits this long for a message (0: plain polls, poll_interval apart)
    seed: int
    rasa_url: str | None
    json_path: Path | None


# Figures -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measured figure, what it means, and the issue's aim for it (if it has one)."""

    key: str
    label: str
    value: float
    unit: str
    definition: str
    aim: str = ""
    passed: bool | None = None

    def shown(self) -> str:
        if math.isnan(self.value):
            return "n/a"
        if self.unit == "ms":
            return f"{self.value:.1f} ms"
        if self.unit == "%":
            return f"{self.value:.0f} %"
        return f"{self.value:,.0f}{' ' + self.unit if self.unit else ''}"

    def verdict(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "MISS")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between closest ranks; nan when there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def below(value: float, limit: float) -> bool | None:
    return None if math.isnan(value) else value < limit


# Processes ---------------------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 20) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()[-lines:] if self.log.exists() else []


def spawn(name: str, argv: list[str], env: dict[str, str], workdir: Path, url: str) -> Service:
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 (our own programs, fixed arguments)
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal reaches this script only; stop() ends them
        )
    return Service(name, process, log, url)


def stop(services: Sequence[Service]) -> None:
    """SIGTERM each process group, wait up to STOP_GRACE seconds in all, then SIGKILL what is left."""
    for service in services:
        if service.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for service in services:
        try:
            service.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


def hub_env(workdir: Path, port: int, rasa_url: str, token: str) -> dict[str, str]:
    """The hub's environment: this one without the caller's CANDOR_ settings, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "CANDOR_SERVICE_TOKEN": token,
            "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}",
            "CANDOR_HUB_HOST": HOST,
            "CANDOR_HUB_PORT": str(port),
            "CANDOR_RASA_URL": rasa_url,
            "CANDOR_RASA_TIMEOUT": "5",
            "CANDOR_CUSTOMER_RATE": UNLIMITED,
            "CANDOR_ADDRESS_RATE": UNLIMITED,
            "CANDOR_LOGIN_RATE": UNLIMITED,
        }
    )
    return env


def add_agents(env: dict[str, str], count: int) -> dict[str, str]:
    """Username -> password of `count` agents: the demo's two, then new ones made with the hub's CLI."""
    agents = dict(itertools.islice(DEMO_AGENTS.items(), count))
    for number in range(len(agents) + 1, count + 1):
        username, password = f"bench{number}", secrets.token_urlsafe(12)
        made = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            [str(HUB_PYTHON), "-m", "handoff.cli", "add-agent", "--username", username, "--name", f"Agent {number}"],
            cwd=ROOT,
            env=env,
            input=password + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise StackError(f"add-agent {username} failed: {made.stderr.strip()}")
        agents[username] = password
    return agents


def start_services(
    options: Options, workdir: Path, token: str, services: list[Service]
) -> tuple[Service, str, dict[str, str]]:
    """The fake Rasa (unless --rasa-url) and the hub, both ready; each is appended to `services` as soon as
    it is started. Returns (hub, Rasa URL, agents' passwords)."""
    rasa_url = options.rasa_url
    if rasa_url is None:
        port = free_port()
        rasa_url = f"http://{HOST}:{port}"
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve-fake-rasa", str(port)]
        services.append(spawn("fake-rasa", argv, dict(os.environ), workdir, rasa_url))
    port = free_port()
    env = hub_env(workdir, port, rasa_url, token)
    agents = add_agents(env, options.agents)  # the CLI creates the database; the hub then adds the seed
    hub = spawn("hub", [str(HUB_PYTHON), "-m", "handoff"], env, workdir, f"http://{HOST}:{port}")
    services.append(hub)
    checks = {s.name: (s.process, f"{s.url}/{'health' if s is hub else 'status'}", s.log) for s in services}
    wait_until_ready(checks, timeout=120)
    return hub, rasa_url, agents


# HTTP --------------------------------------------------------------------------------------------------
# The bench's own HTTP/1.1 client. httpx cost 1.2-1.8 ms of CPU per request on the 2-core machine this was
# written on, and its pool slows down with hundreds of connections: with 200 requests in flight it managed 70
# requests/s against the fake Rasa at 98 % of a core, so it, not the hub, set the relay figure. This client
# costs about 0.05 ms a request.


class HttpError(Exception):
    """A request got no complete HTTP answer (refused, reset, timed out, not JSON)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the JSON body; None when empty

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Outcome = Answer | HttpError


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The first line and the (lower-cased) header fields of a request or an answer."""
    first, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines if line)
    return first, {name.strip().lower(): value.strip() for name, _, value in fields}


def http_message(first: str, fields: dict[str, str], data: bytes | None) -> bytes:
    """A request or an answer; `data` None: no body, and no Content-Length (Sanic logs an error for each request
    whose handler did not read a body it announced, even an empty one)."""
    length = [] if data is None else [f"Content-Length: {len(data)}"]
    head = [first, *(f"{name}: {value}" for name, value in fields.items()), *length]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (data or b"")


class Connection:
    """One kept-alive connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.used_at = time.monotonic()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @property
    def is_open(self) -> bool:
        return self._streams is not None

    async def request(self, method: str, target: str, body: Any, headers: dict[str, str]) -> Answer:
        try:
            return await asyncio.wait_for(self._exchange(method, target, body, headers), REQUEST_TIMEOUT)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            self.close()
            raise HttpError(f"{method} {target}: {error!r}") from None

    async def _exchange(self, method: str, target: str, body: Any, headers: dict[str, str]) -> Answer:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        fields = {"Host": f"{self.host}:{self.port}", **headers}
        if body is not None:
            fields["Content-Type"] = "application/json"
        data = None if body is None else json.dumps(body).encode()
        writer.write(http_message(f"{method} {target} HTTP/1.1", fields, data))
        await writer.drain()
        first, answer = await read_head(reader)
        if "chunked" in answer.get("transfer-encoding", ""):
            raise ValueError("a chunked answer (this client reads Content-Length only)")
        data = await reader.readexactly(int(answer.get("content-length") or 0))
        if answer.get("connection", "").lower() == "close":
            self.close()
        self.used_at = time.monotonic()
        return Answer(int(first.split(" ", 2)[1]), json.loads(data) if data else None)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


class Pool:
    """Kept-alive connections to one server, for any number of requests at once: each request takes the most
    recently used idle connection, or opens one."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise StackError(f"the bench speaks plain http, not {url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self._idle: list[Connection] = []

    async def request(
        self, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        connection = self._connection()
        answer = await connection.request(method, target, body, headers or {})  # HttpError: it closed itself
        if connection.is_open:
            self._idle.append(connection)
        return answer

    def _connection(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if time.monotonic() - connection.used_at < IDLE_LIMIT:
                return connection
            connection.close()
        return Connection(self.host, self.port)

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


# Fake Rasa ---------------------------------------------------------------------------------------------


LATEST: dict[str, dict[str, Any]] = {}  # sender → what the fake NLU made of its latest message (a confident greet)


def fake_rasa_answer(method: str, path: str, body: bytes) -> tuple[str, Any]:
    """One bot message per webhook call; the tracker without events (what the hub's review inbox reads after each
    turn: the latest message, understood with confidence); 200 {} to Rasa's status and tracker-events API; 404
    otherwise."""
    if (method, path) == ("POST", "/webhooks/rest/webhook"):
        message = json.loads(body)
        intent = {"name": "greet", "confidence": 0.99}
        LATEST[message["sender"]] = {"intent": intent, "intent_ranking": [intent], "metadata": message.get("metadata")}
        return "200 OK", [{"recipient_id": message["sender"], "text": "ok"}]
    route, _, _ = path.partition("?")
    if method == "GET" and route.startswith("/conversations/") and route.endswith("/tracker"):
        return "200 OK", {"latest_message": LATEST.get(route.split("/")[2], {}), "events": None}
    if (method, path) == ("GET", "/status") or (method == "POST" and path.endswith("/tracker/events")):
        return "200 OK", {}
    return "404 Not Found", {"error": "not found"}


async def fake_rasa_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 with keep-alive, enough for the hub's httpx, urllib and the bench's client."""
    try:
        while True:
            first, fields = await read_head(reader)
            method, path, _ = first.split(" ", 2)
            status, answer = fake_rasa_answer(
                method, path, await reader.readexactly(int(fields.get("content-length") or 0))
            )
            writer.write(
                http_message(f"HTTP/1.1 {status}", {"Content-Type": "application/json"}, json.dumps(answer).encode())
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed the connection
    finally:
        writer.close()


async def serve_fake_rasa(port: int) -> None:
    """Until SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    server = await asyncio.start_server(fake_rasa_connection, HOST, port)
    async with server:
        await stopping.wait()


# Conversations -----------------------------------------------------------------------------------------


@dataclass
class Agent:
    headers: dict[str, str]  # with the agent's session token


@dataclass
class Conversation:
    index: int
    sender: str
    agent_index: int  # the agent who claims it from the queue
    conversation_id: int = 0  # the hub's id, learnt from the queue
    agent: Agent | None = None  # once it has one
    escalated_at: float = 0.0  # perf_counter when the escalate POST was sent
    notified_at: float | None = None  # perf_counter when an agent's queue poll first listed it
    claiming: bool = False  # its agent's claim is under way
    taken_by: str = ""  # "claim" or "routing" (the hub assigned it)

    @property
    def messages_path(self) -> str:
        return f"/api/agent/conversations/{self.conversation_id}/messages"

    def agent_headers(self) -> dict[str, str]:
        assert self.agent is not None, "every conversation has an agent after phase 2"
        return self.agent.headers


@dataclass
class Ledger:
    """Every message of the bench the hub acknowledged, and every request that failed."""

    acknowledged: dict[str, int] = field(default_factory=dict)  # text (unique) -> conversation index
    failures: Counter[str] = field(default_factory=Counter)  # "<request> <status or error>" -> count
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def text(self, rng: random.Random, pool: Sequence[str]) -> str:
        """A new message text, unique within the run."""
        return f"#{next(self.numbers)} {rng.choice(pool)}"

    def failed(self, request: str, outcome: Outcome) -> None:
        reason = str(outcome.status) if isinstance(outcome, Answer) else "no answer"
        self.failures[f"{request}: {reason}"] += 1


def new_sender(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def webhook_body(sender: str, text: str) -> dict[str, Any]:
    return {"sender": sender, "message": text, "metadata": {}}


async def timed(request: Awaitable[Answer]) -> tuple[Outcome, float]:
    """The answer (or the error) and the seconds it took."""
    started = time.perf_counter()
    try:
        outcome: Outcome = await request
    except HttpError as error:
        outcome = error
    return outcome, time.perf_counter() - started


def ok(outcome: Outcome) -> bool:
    return isinstance(outcome, Answer) and outcome.ok


def body_of(outcome: Outcome) -> Any:
    """The JSON of a successful answer; None otherwise."""
    return outcome.body if isinstance(outcome, Answer) and outcome.ok else None


async def expect(request: Awaitable[Answer], what: str) -> Any:
    """The JSON of a request that must succeed for the bench to go on; StackError otherwise."""
    outcome, _ = await timed(request)
    if not ok(outcome):
        raise StackError(f"{what} failed: {outcome}")
    return body_of(outcome)


# Phase 1: bot turns ------------------------------------------------------------------------------------


def bot_answered(outcome: Outcome) -> bool:
    """The hub's answer is the bot's (on a Rasa failure it is a system message, and the customer is queued)."""
    messages = body_of(outcome)
    return bool(messages) and all(m["custom"]["from"] == "bot" for m in messages)


async def bot_turns(hub: Pool, rasa: Pool, turns: int, rng: random.Random) -> list[Figure]:
    """Hub turns and direct Rasa turns, one at a time, alternating which goes first."""
    servers = {
        "hub": (hub, [new_sender(rng) for _ in range(TURN_SENDERS)]),
        "rasa": (rasa, [new_sender(rng) for _ in range(TURN_SENDERS)]),
    }
    hub_times: list[float] = []
    direct_times: list[float] = []
    failed = 0
    for turn in range(WARMUP_TURNS + turns):
        text = rng.choice(CUSTOMER_TEXTS)
        answers: dict[str, tuple[Outcome, float]] = {}
        for name in ("hub", "rasa") if turn % 2 else ("rasa", "hub"):
            pool, senders = servers[name]
            body = webhook_body(senders[turn % TURN_SENDERS], text)
            answers[name] = await timed(pool.request("POST", "/webhooks/rest/webhook", body))
        if turn < WARMUP_TURNS:
            continue
        (hub_answer, hub_s), (rasa_answer, rasa_s) = answers["hub"], answers["rasa"]
        if not bot_answered(hub_answer) or not ok(rasa_answer):
            failed += 1
            continue
        hub_times.append(hub_s)
        direct_times.append(rasa_s)
    return turn_figures(hub_times, direct_times, failed, turns)


def turn_figures(hub_times: list[float], direct_times: list[float], failed: int, turns: int) -> list[Figure]:
    figures = []
    for q in (50, 95):
        hub, direct = ms(percentile(hub_times, q)), ms(percentile(direct_times, q))
        figures += [
            Figure(
                f"bot_turn_added_p{q}_ms",
                f"Added latency on a bot turn, p{q}",
                hub - direct,
                "ms",
                f"p{q} of hub turns minus p{q} of direct Rasa turns ({len(hub_times)} of each, one at a time)",
                aim="< 5 ms" if q == 50 else "",
                passed=below(hub - direct, 5.0) if q == 50 else None,
            ),
            Figure(
                f"bot_turn_hub_p{q}_ms",
                f"Bot turn through the hub, p{q}",
                hub,
                "ms",
                "POST /webhooks/rest/webhook to the hub, send to answer: store, call Rasa, store its answer",
            ),
            Figure(
                f"bot_turn_direct_p{q}_ms",
                f"Bot turn straight to Rasa, p{q}",
                direct,
                "ms",
                "the same message posted to Rasa's own REST webhook, send to answer",
            ),
        ]
    figures.append(
        Figure(
            "bot_turn_failed", "Bot turns failed", failed, f"of {turns}", "hub turns without a bot answer, or errors"
        )
    )
    return figures


def turn_cpu_figure(hub_cpu_seconds: float, turns: int) -> Figure:
    return Figure(
        "bot_turn_hub_cpu_ms",
        "Hub CPU per bot turn",
        1000 * hub_cpu_seconds / (WARMUP_TURNS + turns),
        "ms",
        "hub process CPU time over the phase / hub turns (warm-up included; the hub is idle during the direct "
        "turns): store, call Rasa, store its answer",
    )


# Phase 2: first messages, escalation, agents notified, claims ----------------------------------------


async def login(hub: Pool, username: str, password: str) -> Agent:
    body = await expect(hub.request("POST", "/api/agent/login", {"username": username, "password": password}), "login")
    return Agent({"Authorization": f"Bearer {body['token']}"})


async def first_messages(hub: Pool, conversations: list[Conversation], ledger: Ledger, rng: random.Random) -> None:
    """Each customer's first message, all at once, answered by the bot: it creates the conversation."""

    async def send(conversation: Conversation) -> None:
        text = ledger.text(rng, CUSTOMER_TEXTS)
        post = hub.request("POST", "/webhooks/rest/webhook", webhook_body(conversation.sender, text))
        await expect(post, f"the first message of conversation {conversation.index}")
        ledger.acknowledged[text] = conversation.index

    await asyncio.gather(*(send(c) for c in conversations))


async def escalate_all(hub: Pool, token: str, conversations: list[Conversation], rng: random.Random) -> None:
    """The bot escalates each conversation once, in a random order, at evenly spread moments."""
    start = time.perf_counter()
    step = ESCALATION_WINDOW / len(conversations)
    body = {
        "reason": "customer_requested_human",
        "summary": "Internet down since the morning; the customer restarted the router twice.",
        "frustration": [{"score": 0.6, "level": "medium", "text": CUSTOMER_TEXTS[0]}],
    }

    async def escalate(conversation: Conversation, at: float) -> None:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        conversation.escalated_at = time.perf_counter()
        path = f"/api/bot/conversations/{conversation.sender}/escalate"
        await expect(hub.request("POST", path, body, {SERVICE_HEADER: token}), "escalate")

    order = rng.sample(conversations, len(conversations))
    await asyncio.gather(*(escalate(c, n * step) for n, c in enumerate(order)))


async def watch_queue(
    hub: Pool, agents: list[Agent], conversations: list[Conversation], interval: float, ledger: Ledger
) -> None:
    """Agents poll the queue, staggered, until every conversation has an agent. A conversation is notified when
    an agent's poll first lists it, waiting ("queued") or given to them by the hub's routing ("mine", when the
    hub assigns: CANDOR_ASSIGNMENT=auto); each agent claims the waiting ones that are its share."""
    by_sender = {c.sender: c for c in conversations}
    claims: set[asyncio.Task[None]] = set()
    all_taken = asyncio.Event()

    def take(conversation: Conversation, agent: Agent, how: str) -> None:
        conversation.agent, conversation.taken_by = agent, how
        if all(c.agent for c in conversations):
            all_taken.set()

    async def claim(conversation: Conversation, agent: Agent) -> None:
        path = f"/api/agent/conversations/{conversation.conversation_id}/claim"
        answer, _ = await timed(hub.request("POST", path, None, agent.headers))
        conversation.claiming = False
        if ok(answer):
            take(conversation, agent, "claim")
        elif not isinstance(answer, Answer) or answer.status != 409:  # 409: routing gave it to someone meanwhile
            ledger.failed("claim", answer)

    def seen(item: dict[str, Any], number: int, agent: Agent, mine: bool, listed_at: float) -> None:
        conversation = by_sender.get(item["sender"])  # None: a bot turn's conversation (queued if Rasa failed)
        if conversation is None or conversation.agent is not None:
            return
        conversation.conversation_id = item["conversation_id"]
        if conversation.notified_at is None:
            conversation.notified_at = listed_at
        own_claim = conversation.claiming and conversation.agent_index == number
        if mine and not own_claim:
            take(conversation, agent, "routing")
        elif not mine and conversation.agent_index == number and not conversation.claiming:
            conversation.claiming = True
            task = asyncio.create_task(claim(conversation, agent))
            claims.add(task)  # a reference until done, so the task is not collected
            task.add_done_callback(claims.discard)

    async def poll(number: int, agent: Agent) -> None:
        await asyncio.sleep(interval * number / len(agents))
        while not all_taken.is_set():
            answer, _ = await timed(hub.request("GET", "/api/agent/queue", None, agent.headers))
            listed_at = time.perf_counter()
            if not ok(answer):
                ledger.failed("queue poll", answer)
            listing = body_of(answer) or {}
            for mine in (False, True):
                for item in listing.get("mine" if mine else "queued", []):
                    seen(item, number, agent, mine, listed_at)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_taken.wait(), interval)

    await asyncio.gather(*(poll(n, a) for n, a in enumerate(agents)))


async def escalations(
    hub: Pool, token: str, agents: dict[str, str], options: Options, ledger: Ledger, rng: random.Random
) -> tuple[list[Conversation], list[Figure]]:
    """The conversations, each with the bot, then escalated, then with an agent."""
    sessions = [await login(hub, username, password) for username, password in agents.items()]
    conversations = [Conversation(n, new_sender(rng), n % len(sessions)) for n in range(options.conversations)]
    await first_messages(hub, conversations, ledger, rng)
    watching = asyncio.create_task(watch_queue(hub, sessions, conversations, options.poll_interval, ledger))
    await escalate_all(hub, token, conversations, rng)
    try:
        await asyncio.wait_for(watching, REQUEST_TIMEOUT)
    except TimeoutError:
        left = sum(1 for c in conversations if c.agent is None)
        raise StackError(
            f"{left} conversations without an agent {REQUEST_TIMEOUT:g} s after the last escalation"
        ) from None
    waits = [c.notified_at - c.escalated_at for c in conversations if c.notified_at is not None]
    every = f"{options.poll_interval:g} s"
    taken = Counter(c.taken_by for c in conversations)
    return conversations, [
        Figure(
            f"escalation_notified_p{q}_ms",
            f"Escalation to agent notified, p{q} (queue poll every {every})",
            ms(percentile(waits, q)),
            "ms",
            f"escalate POST sent -> first GET /api/agent/queue answer listing it; {len(sessions)} agents each poll "
            f"every {every}, staggered: includes the wait for the next poll (no push yet); {taken['claim']} "
            f"claimed by agents, {taken['routing']} assigned by the hub",
        )
        for q in (50, 95)
    ]


# Phase 3: relay during handoff -------------------------------------------------------------------------


@dataclass
class Relay:
    """What phase 3 saw."""

    seconds: float  # the window
    in_window: Counter[str] = field(default_factory=Counter)  # direction -> acknowledged within the window
    latencies: list[float] = field(default_factory=list)  # every acknowledged POST
    drain: float = 0.0  # seconds after the window until the last request in flight ended
    hub_cpu: float = 0.0  # percent of one core, window and drain
    hub_cpu_seconds: float = 0.0  # the hub's CPU time over the window and drain
    bench_cpu: float = 0.0

    def closed(self, elapsed: float, hub_cpu_seconds: float, bench_cpu_at_start: float) -> Relay:
        """The phase ended `elapsed` seconds after it started, the hub having used `hub_cpu_seconds`."""
        self.drain = elapsed - self.seconds
        self.hub_cpu_seconds = hub_cpu_seconds
        self.hub_cpu = 100 * hub_cpu_seconds / elapsed
        self.bench_cpu = 100 * (time.process_time() - bench_cpu_at_start) / elapsed
        return self


def relayed(
    conversation: Conversation, direction: str, ledger: Ledger, rng: random.Random
) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """A relayed message: its text, and the request that sends it (the customer's webhook, or the agent's POST)."""
    if direction == "customer->agent":
        text = ledger.text(rng, CUSTOMER_TEXTS)
        return text, "/webhooks/rest/webhook", webhook_body(conversation.sender, text), {}
    text = ledger.text(rng, AGENT_TEXTS)
    return text, conversation.messages_path, {"text": text}, conversation.agent_headers()


async def relay(
    hub: Pool,
    hub_process: Service,
    conversations: list[Conversation],
    options: Options,
    ledger: Ledger,
    rng: random.Random,
) -> Relay:
    """Each customer and each conversation's agent post back to back for options.seconds, through one gate
    of options.in_flight requests."""
    gate = asyncio.Semaphore(options.in_flight)
    seen = Relay(seconds=options.seconds)
    hub_cpu, bench_cpu = hub_process.cpu_seconds(), time.process_time()
    start = time.perf_counter()
    deadline = start + options.seconds

    async def post(conversation: Conversation, direction: str) -> None:
        while time.perf_counter() < deadline:
            text, path, body, headers = relayed(conversation, direction, ledger, rng)
            async with gate:
                answer, took = await timed(hub.request("POST", path, body, headers))
            if not ok(answer):
                ledger.failed(f"relay {direction}", answer)
                continue
            ledger.acknowledged[text] = conversation.index
            seen.latencies.append(took)
            if time.perf_counter() <= deadline:
                seen.in_window[direction] += 1

    await asyncio.gather(*(post(c, d) for c in conversations for d in ("customer->agent", "agent->customer")))
    return seen.closed(time.perf_counter() - start, hub_process.cpu_seconds() - hub_cpu, bench_cpu)


def relay_figures(seen: Relay, options: Options) -> list[Figure]:
    rate = sum(seen.in_window.values()) / seen.seconds
    figures = [
        Figure(
            "relay_messages_per_s",
            f"Relayed messages/s during handoff ({options.conversations} conversations, {options.in_flight} in flight)",
            rate,
            "msg/s",
            f"messages stored and acknowledged per second of the {seen.seconds:g} s window, both directions "
            f"({seen.in_window['customer->agent']:,} customer->agent, {seen.in_window['agent->customer']:,} "
            "agent->customer); no Rasa in the loop",
            aim=">= 500 msg/s",
            passed=rate >= 500,
        )
    ]
    figures += [
        Figure(
            f"relay_post_p{q}_ms",
            f"Relay POST latency at saturation, p{q}",
            ms(percentile(seen.latencies, q)),
            "ms",
            f"one message POST, send to answer, {options.in_flight} in flight: mostly waiting inside the hub "
            f"(the last ones ended {seen.drain:.1f} s after the window)",
        )
        for q in (50, 95, 99)
    ]
    return [
        *figures,
        Figure(
            "relay_hub_cpu_pct",
            "Hub CPU during relay",
            seen.hub_cpu,
            "%",
            "hub process CPU / wall time (100 % = one core)",
        ),
        Figure(
            "relay_hub_cpu_ms_per_msg",
            "Hub CPU per relayed message",
            1000 * seen.hub_cpu_seconds / max(1, len(seen.latencies)),
            "ms",
            "hub process CPU time over the window and drain / messages acknowledged in them: less sensitive to other "
            "work on the machine than the rate",
        ),
        Figure(
            "relay_bench_cpu_pct",
            "Bench client CPU during relay",
            seen.bench_cpu,
            "%",
            "this script's CPU / wall time, from the same cores as the hub's",
        ),
    ]


# Phase 3b: relay at a set rate ------------------------------------------------------------------------


async def relay_at_rate(
    hub: Pool,
    hub_process: Service,
    conversations: list[Conversation],
    options: Options,
    ledger: Ledger,
    rng: random.Random,
) -> Relay:
    """Messages offered at options.relay_rate a second for options.seconds, open loop (one every 1/rate s, each its
    own request, whatever the answers so far), customers and their agents in turn across the conversations."""
    seen = Relay(seconds=options.seconds)
    hub_cpu, bench_cpu = hub_process.cpu_seconds(), time.process_time()
    count = int(options.relay_rate * options.seconds)

    async def post(n: int) -> None:
        conversation = conversations[(n // 2) % len(conversations)]
        direction = "customer->agent" if n % 2 == 0 else "agent->customer"
        text, path, body, headers = relayed(conversation, direction, ledger, rng)
        answer, took = await timed(hub.request("POST", path, body, headers))
        if not ok(answer):
            ledger.failed(f"paced relay {direction}", answer)
            return
        ledger.acknowledged[text] = conversation.index
        seen.latencies.append(took)
        seen.in_window[direction] += 1

    start = time.perf_counter()
    sending = []
    for n in range(count):
        if (wait := start + n / options.relay_rate - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        sending.append(asyncio.create_task(post(n)))
    await asyncio.gather(*sending)
    return seen.closed(time.perf_counter() - start, hub_process.cpu_seconds() - hub_cpu, bench_cpu)


def paced_figures(seen: Relay, options: Options) -> list[Figure]:
    acknowledged = sum(seen.in_window.values())
    p95 = ms(percentile(seen.latencies, 95)) if seen.latencies else float("inf")
    return [
        Figure(
            "paced_relay_messages_per_s",
            f"Relayed messages/s at {options.relay_rate:g} offered",
            acknowledged / (seen.seconds + max(0.0, seen.drain)),
            "msg/s",
            f"{acknowledged:,} acknowledged of {int(options.relay_rate * options.seconds):,} offered over "
            f"{seen.seconds:g} s (the last answered {seen.drain:.2f} s after)",
        ),
        *(
            Figure(
                f"paced_relay_post_p{q}_ms",
                f"Relay POST latency at {options.relay_rate:g} msg/s, p{q}",
                ms(percentile(seen.latencies, q)) if seen.latencies else float("inf"),
                "ms",
                "one message POST (customer or agent), send to answer, at the offered rate: what a customer or "
                "agent waits when the hub relays that many messages a second",
                **({"aim": "< 50 ms", "passed": p95 < 50} if q == 95 else {}),
            )
            for q in (50, 95, 99)
        ),
        Figure(
            "paced_relay_hub_cpu_pct",
            "Hub CPU during the paced relay",
            seen.hub_cpu,
            "%",
            "hub process CPU / wall time",
        ),
    ]


# Phase 4: agent message to customer -------------------------------------------------------------------


@dataclass
class Delivery:
    """What phase 4 saw."""

    delays: list[float] = field(default_factory=list)  # agent POST sent -> listed by the customer's poll
    polls: list[float] = field(default_factory=list)  # how long each answered chat poll took
    sent: int = 0  # agent messages acknowledged
    unseen: int = 0  # of those, never listed by a poll
    seconds: float = 0.0  # from the start to the last poll
    hub_cpu_seconds: float = 0.0  # the hub's CPU time over the phase


def chat_path(conversation: Conversation, after: int, wait: int = 0) -> str:
    return f"/api/chat/{conversation.sender}/messages?after={after}&wait={wait}"


async def chat_cursor(hub: Pool, conversation: Conversation) -> int:
    """The id of the latest message the customer can see so far (bot, agent or system)."""
    body = await expect(hub.request("GET", chat_path(conversation, 0)), "chat poll")
    return max((m["id"] for m in body["messages"]), default=0)


async def deliver(
    hub: Pool,
    hub_process: Service,
    conversations: list[Conversation],
    options: Options,
    ledger: Ledger,
    rng: random.Random,
) -> Delivery:
    """Agents send at a steady pace while customers poll; each message is timed until a poll lists it."""
    cursors = await asyncio.gather(*(chat_cursor(hub, c) for c in conversations))
    pending: dict[int, dict[str, float]] = {c.index: {} for c in conversations}  # text -> sent at, by conversation
    seen = Delivery()
    hub_cpu = hub_process.cpu_seconds()
    start = time.perf_counter()
    deadline = start + options.seconds
    senders_done = asyncio.Event()

    async def agent_sends(conversation: Conversation) -> None:
        await asyncio.sleep(rng.uniform(0, AGENT_MESSAGE_EVERY))
        while time.perf_counter() < deadline:
            text = ledger.text(rng, AGENT_TEXTS)
            pending[conversation.index][text] = time.perf_counter()  # a poll may list it before the POST returns
            post = hub.request("POST", conversation.messages_path, {"text": text}, conversation.agent_headers())
            answer, _ = await timed(post)
            if ok(answer):
                ledger.acknowledged[text] = conversation.index
                seen.sent += 1
            else:
                ledger.failed("agent message", answer)
                pending[conversation.index].pop(text, None)
            await asyncio.sleep(AGENT_MESSAGE_EVERY * rng.uniform(0.5, 1.5))

    async def customer_polls(conversation: Conversation, cursor: int) -> None:
        waiting = pending[conversation.index]
        give_up = deadline + REQUEST_TIMEOUT
        await asyncio.sleep(rng.uniform(0, options.poll_interval))
        while not (senders_done.is_set() and not waiting) and time.perf_counter() < give_up:
            answer, took = await timed(hub.request("GET", chat_path(conversation, cursor, options.long_poll)))
            listed_at = time.perf_counter()
            if ok(answer):
                seen.polls.append(took)
            else:
                ledger.failed("chat poll", answer)
            for message in (body_of(answer) or {}).get("messages", []):
                cursor = max(cursor, message["id"])
                sent_at = waiting.pop(message.get("text", ""), None)
                if sent_at is not None:
                    seen.delays.append(listed_at - sent_at)
            if not options.long_poll:
                await asyncio.sleep(options.poll_interval)

    async def agents_then_done() -> None:
        await asyncio.gather(*(agent_sends(c) for c in conversations))
        senders_done.set()

    polls = (customer_polls(c, cursor) for c, cursor in zip(conversations, cursors, strict=True))
    await asyncio.gather(agents_then_done(), *polls)
    seen.unseen = sum(len(waiting) for waiting in pending.values())
    seen.seconds = time.perf_counter() - start
    seen.hub_cpu_seconds = hub_process.cpu_seconds() - hub_cpu
    return seen


def delivery_figures(seen: Delivery, options: Options) -> list[Figure]:
    if options.long_poll:
        how = f"long poll, wait={options.long_poll}"
        pace = (
            f"{options.conversations} customers each keep one long poll open (?wait={options.long_poll}), "
            "as the widget does"
        )
    else:
        how = f"chat poll every {options.poll_interval:g} s"
        pace = (
            f"{options.conversations} customers each wait {options.poll_interval:g} s after a poll's answer: "
            "includes the wait for the next poll"
        )
    p95 = ms(percentile(seen.delays, 95))
    figures = [
        Figure(
            f"agent_to_customer_p{q}_ms",
            f"Agent message to customer, p{q} ({how})",
            ms(percentile(seen.delays, q)),
            "ms",
            f"agent POST sent -> first answer of the customer's poll that lists it ({seen.sent:,} messages); {pace}",
            aim="< 50 ms" if q == 95 else "",
            passed=below(p95, 50.0) if q == 95 else None,
        )
        for q in (50, 95)
    ]
    figures += (
        []
        if options.long_poll
        else [  # a long poll's time is mostly its wait: not a figure
            Figure(
                f"chat_poll_p{q}_ms",
                f"Chat poll answer time, p{q}",
                ms(percentile(seen.polls, q)),
                "ms",
                "one GET /api/chat/{sender}/messages?after=<id>, send to answer, while agents send one message "
                f"every ~{AGENT_MESSAGE_EVERY:g} s per conversation",
            )
            for q in (50, 95)
        ]
    )
    return [
        *figures,
        Figure(
            "chat_polls_per_s",
            "Chat polls answered/s",
            len(seen.polls) / seen.seconds,
            "polls/s",
            f"answered polls of the {options.conversations} customers, per second of the phase",
        ),
        Figure(
            "delivery_hub_cpu_ms_per_msg",
            "Hub CPU per agent message delivered",
            1000 * seen.hub_cpu_seconds / max(1, seen.sent),
            "ms",
            "hub process CPU time over the phase / agent messages acknowledged: the POST, the poll answers and the "
            "polls that wait, over the phase",
        ),
        Figure(
            "agent_to_customer_unseen",
            "Agent messages never listed by the customer's poll",
            seen.unseen,
            "",
            f"acknowledged but not listed by a poll within {REQUEST_TIMEOUT:g} s after the phase",
            aim="0",
            passed=seen.unseen == 0,
        ),
    ]


# Phase 5: zero lost ------------------------------------------------------------------------------------


async def transcripts(hub: Pool, conversations: list[Conversation]) -> dict[int, Counter[str]]:
    """Conversation index -> how many times each customer or agent text is stored (the agent's view)."""

    async def read(conversation: Conversation) -> tuple[int, Counter[str]]:
        get = hub.request("GET", f"{conversation.messages_path}?after=0", None, conversation.agent_headers())
        body = await expect(get, "reading a transcript")
        return conversation.index, Counter(m["text"] for m in body["messages"] if m["role"] in ("customer", "agent"))

    return dict(await asyncio.gather(*(read(c) for c in conversations)))


def loss_figures(ledger: Ledger, stored: dict[int, Counter[str]]) -> list[Figure]:
    acknowledged = ledger.acknowledged
    lost = sum(1 for text, index in acknowledged.items() if stored[index][text] == 0)
    duplicated = sum(1 for text, index in acknowledged.items() if stored[index][text] > 1)
    unacknowledged = sum(1 for index, texts in stored.items() for text in texts if acknowledged.get(text) != index)
    return [
        Figure(
            "lost",
            "Acknowledged messages lost",
            lost,
            "",
            f"of the {len(acknowledged):,} acknowledged in phases 2-4: absent from their conversation's transcript",
            aim="0",
            passed=lost == 0,
        ),
        Figure(
            "duplicated",
            "Acknowledged messages duplicated",
            duplicated,
            "",
            "acknowledged once, stored more than once",
            aim="0",
            passed=duplicated == 0,
        ),
        Figure(
            "stored_unacknowledged",
            "Stored without acknowledgement",
            unacknowledged,
            "",
            "stored although their request failed or timed out (the API allows it: 'may or may not have been stored')",
        ),
    ]


# Report ------------------------------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in ("sanic", "SQLAlchemy", "aiosqlite", "uvloop"))
    return {
        "cores": f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()} ({cpu})",
        "python": f"{platform.python_implementation()} {platform.python_version()}, {packages}",
        "sqlite": f"{sqlite3.sqlite_version}, WAL, synchronous=NORMAL (the hub's settings)",
        "system": platform.platform(),
        "hub": "one process (`python -m handoff`), a new SQLite file, rate limits 1000000 a minute",
        "load average before": load_average(),
    }


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min: other work on the machine skews figures)"


def print_section(title: str, figures: list[Figure]) -> None:
    print(f"\n## {title}\n")
    for figure in figures:
        print(f"- {figure.label}: {figure.shown()}")
        print(f"    {figure.definition}")
    print(end="", flush=True)


def print_summary(figures: list[Figure], machine: dict[str, str], failures: Counter[str]) -> None:
    print("\n## Summary\n")
    print("| figure | value | aim | result |")
    print("|---|---|---|---|")
    for f in figures:
        print(f"| {f.label} | {f.shown()} | {f.aim or '-'} | {f.verdict()} |")
    print()
    for name, fact in machine.items():
        print(f"- {name}: {fact}")
    print(f"- failed requests: {', '.join(f'{k} x{v}' for k, v in sorted(failures.items())) or 'none'}", flush=True)


def write_json(
    path: Path, figures: list[Figure], machine: dict[str, str], failures: Counter[str], options: Options
) -> None:
    report = {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "machine": machine,
        "figures": {f.key: asdict(f) for f in figures},
        "failed_requests": dict(failures),
    }
    path.write_text(json.dumps(report, indent=2) + "\n")


# Main --------------------------------------------------------------------------------------------------


async def measure(
    options: Options, hub_process: Service, rasa_url: str, token: str, agents: dict[str, str]
) -> tuple[list[Figure], Counter[str]]:
    """The five phases in order, printing each one's figures as it ends; (figures, failed requests)."""
    rng = random.Random(options.seed)  # noqa: S311 (a reproducible load, not secrets)
    ledger = Ledger()
    hub, rasa = Pool(hub_process.url), Pool(rasa_url)
    figures: list[Figure] = []
    try:
        hub_cpu = hub_process.cpu_seconds()
        found = await bot_turns(hub, rasa, options.turns, rng)
        found.append(turn_cpu_figure(hub_process.cpu_seconds() - hub_cpu, options.turns))
        print_section(f"1. Bot turn: hub vs Rasa directly ({rasa_url})", found)
        figures += found

        conversations, found = await escalations(hub, token, agents, options, ledger, rng)
        print_section(f"2. Escalation to agent notified ({options.conversations} conversations)", found)
        figures += found

        found = relay_figures(await relay(hub, hub_process, conversations, options, ledger, rng), options)
        print_section("3. Relay during handoff (no Rasa in the loop)", found)
        figures += found

        found = paced_figures(await relay_at_rate(hub, hub_process, conversations, options, ledger, rng), options)
        print_section(f"3b. Relay at {options.relay_rate:g} messages/s offered", found)
        figures += found

        found = delivery_figures(await deliver(hub, hub_process, conversations, options, ledger, rng), options)
        print_section("4. Agent message to customer", found)
        figures += found

        found = loss_figures(ledger, await transcripts(hub, conversations))
        print_section("5. Zero lost", found)
        figures += found
    finally:
        hub.close()
        rasa.close()
    return figures, ledger.failures


def run(options: Options) -> int:
    """Start, measure, stop (also on an error or Ctrl-C), report; 1 if an acknowledged message was lost."""
    services: list[Service] = []
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="candor-bench-hub-") as folder:
        try:
            hub_process, rasa_url, agents = start_services(options, Path(folder), token, services)
            machine = machine_facts()
            print(
                f"# Hub benchmark: {options.conversations} conversations, {options.agents} agents, seed {options.seed}"
            )
            figures, failures = uvloop.run(measure(options, hub_process, rasa_url, token, agents))
        except Exception:
            for service in services:
                if tail := service.log_tail():
                    print(f"--- last lines of {service.name}'s log:", *tail, sep="\n", file=sys.stderr)
            raise
        finally:
            stop(services)
    machine["load average after"] = load_average()
    print_summary(figures, machine, failures)
    if options.json_path:
        write_json(options.json_path, figures, machine, failures, options)
    return 0 if all(f.passed for f in figures if f.key in ("lost", "duplicated")) else 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the handoff hub; the module docstring says what.")
    parser.add_argument("--conversations", type=int, default=200, help="concurrent conversations (default 200)")
    parser.add_argument("--turns", type=int, default=300, help="bot turns measured, each way (default 300)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the relay and delivery phases (30)")
    parser.add_argument("--agents", type=int, default=4, help="agents sharing the conversations (default 4)")
    parser.add_argument("--in-flight", type=int, help="relay phase: requests in flight (default: --conversations)")
    parser.add_argument(
        "--relay-rate", type=float, default=500.0, help="phase 3b: relayed messages offered per second (default 500)"
    )
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between polls (default 0.1)")
    parser.add_argument(
        "--long-poll", type=int, default=25, help="customers long-poll with this ?wait= (default 25; 0: plain polls)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of senders, texts and pacing (default 1)")
    parser.add_argument("--rasa-url", help="a real Rasa server already running (http://host:port), not the fake one")
    parser.add_argument("--json", type=Path, dest="json_path", metavar="PATH", help="also write the figures here")
    parser.add_argument("--serve-fake-rasa", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    sizes = (
        args.conversations,
        args.turns,
        args.seconds,
        args.agents,
        args.in_flight or 1,
        args.relay_rate,
        args.poll_interval,
    )
    if min(sizes) <= 0:
        parser.error("sizes, seconds and intervals must be positive")
    if not 0 <= args.long_poll <= 30:
        parser.error("--long-poll: 0 to 30 seconds (the hub's limit)")
    if args.rasa_url and not args.rasa_url.startswith("http://"):
        parser.error("--rasa-url: the bench speaks plain http (http://host:port)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.serve_fake_rasa:
        uvloop.run(serve_fake_rasa(args.serve_fake_rasa))
        return 0
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # like Ctrl-C: the hub and fake Rasa are stopped
    options = Options(
        conversations=args.conversations,
        turns=args.turns,
        seconds=args.seconds,
        agents=args.agents,
        in_flight=args.in_flight or args.conversations,
        relay_rate=args.relay_rate,
        poll_interval=args.poll_interval,
        long_poll=args.long_poll,
        seed=args.seed,
        rasa_url=args.rasa_url,
        json_path=args.json_path,
    )
    try:
        return run(options)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the hub and the fake Rasa are stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
