"""Factories for the hub tests: a fake Rasa on loopback, settings, and the real hub over real HTTP.

Every test that uses the database (through `database_url`, which `make_settings` uses) runs on SQLite and on
PostgreSQL: test[sqlite] on a new file, test[postgresql] in a new database on the server that
CANDOR_TEST_POSTGRES_URL names (dropped after the test; `make test-hub-pg` and .ci/run start a throwaway
server with scripts/postgres.sh). Without that variable the PostgreSQL variants are skipped, or fail when
CANDOR_REQUIRE_POSTGRES=1 (CI). `-m postgresql` selects them. A test marked sqlite_only checks SQLite itself
(its file, pragmas, several processes on one file) and runs on SQLite only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL, make_url

from handoff import customer_tokens, models
from handoff.app import create_app
from handoff.flows import Hub
from handoff.repository import Repository
from handoff.settings import ROOT, Settings

SERVICE_TOKEN = "test-service-token-0123456789"
CUSTOMER_SECRET = "test-customer-token-secret-0123456789abcdef"


def customer_token(customer_id: str, secret: str = CUSTOMER_SECRET) -> str:
    """What the customer's website would give its chat: a token for this customer, valid for an hour."""
    return customer_tokens.mint(customer_id, secret, models.utcnow())


DEMO_SEED = ROOT / "handoff" / "seed" / "demo.yml"
AGENTS = {"ana": "candor-demo-ana", "ben": "candor-demo-ben", "tess": "candor-demo-tess"}  # tess: a trainer


POSTGRES_URL = os.environ.get("CANDOR_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("CANDOR_REQUIRE_POSTGRES", "") == "1"
NO_POSTGRES = "CANDOR_TEST_POSTGRES_URL is not set (`make test-hub-pg` starts a server and sets it)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(why): the test checks SQLite itself, so it runs on SQLite only (no [postgresql])"
    )
    config.addinivalue_line("markers", "postgresql: the test's PostgreSQL variant (CANDOR_TEST_POSTGRES_URL)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses the database runs twice, test[sqlite] and test[postgresql], unless sqlite_only."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("sqlite_only") is None:
        backends = [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgresql)]
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """The PostgreSQL variants skipped for want of a server make one line of the summary, not one each."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and str(report.longrepr[2]).endswith(NO_POSTGRES):
        report.longrepr = (__file__, None, report.longrepr[2])
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Warnings are errors in the hub's tests (only here: other folders share the pytest config)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings("error"), append=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Fake Rasa -----------------------------------------------------------------------------------------


@dataclass
class FakeRasa:
    """Answers Rasa's REST webhook, tracker-events and parse API on loopback, and records every call.

    mode: "ok" (echo), "error" (HTTP 500), "slow" (answers after `delay` seconds), "empty" (200 with no
    message: what Rasa's REST channel answers when the action server fails).
    """

    mode: str = "ok"
    delay: float = 3.0
    calls: list[tuple[str, Any]] = field(default_factory=list)
    url: str = ""
    # What its NLU "understands" of a message text (the parse data its tracker keeps): `understood` by text, else
    # a confident report_problem. The tracker API (GET) answers from the messages the webhook received.
    understood: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sender → its user events
    tracker_reads: list[str] = field(default_factory=list)
    behind: int = 0  # the tracker's latest_message is this many messages old (another turn is being logged)
    # Called with (sender, text) before the webhook answers: what the bot's actions do during a turn (escalate...).
    during_turn: Callable[[str, str], None] | None = None

    def parse(self, text: str, metadata: dict[str, Any]) -> dict[str, Any]:
        given = self.understood.get(text)
        ranking = given["intent_ranking"] if given else [
            {"name": "report_problem", "confidence": 0.95}, {"name": "ask_status", "confidence": 0.03}
        ]  # fmt: skip
        return {
            "intent": ranking[0], "intent_ranking": ranking, "entities": [], "text": text, "metadata": metadata,
            "frustration": (given or {}).get("frustration", {"score": 0.1, "level": "none"}),
        }  # fmt: skip

    def tracker(self, path: str) -> tuple[int, Any]:
        """GET /conversations/{sender}/tracker?include_events=NONE|ALL, as Rasa answers it (the parts the hub reads)."""
        self.tracker_reads.append(path)
        route, _, query = path.partition("?")
        parts = route.split("/")
        if len(parts) != 4 or parts[1] != "conversations" or parts[3] != "tracker" or self.mode == "error":
            return 404 if self.mode != "error" else 500, {"error": "not found"}
        events = self.users.get(parts[2], [])
        latest = events[-1 - self.behind]["parse_data"] if len(events) > self.behind else {}
        return 200, {
            "sender_id": parts[2], "latest_message": latest,
            "events": None if "include_events=NONE" in query else events,
        }  # fmt: skip

    def messages(self) -> list[str]:
        return [body["message"] for path, body in self.calls if path == "/webhooks/rest/webhook"]

    def tracker_events(self) -> list[tuple[str, Any]]:
        return [(path, body) for path, body in self.calls if path.endswith("/tracker/events")]

    def answer(self, path: str, body: Any) -> tuple[int, Any]:
        self.calls.append((path, body))
        if self.mode == "error":
            return 500, {"error": "boom"}
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "empty" and path == "/webhooks/rest/webhook":
            return 200, []
        if path == "/webhooks/rest/webhook":
            sender = body["sender"]
            metadata = body.get("metadata") or {}
            parse = self.parse(body["message"], metadata)
            if self.during_turn is not None:
                self.during_turn(sender, body["message"])
            self.users.setdefault(sender, []).append({"event": "user", "text": body["message"], "parse_data": parse})
            return 200, [
                {"recipient_id": sender, "text": f"bot heard: {body['message']}"},
                {"recipient_id": sender, "text": "Anything else?", "buttons": [{"title": "No", "payload": "/deny"}]},
            ]
        if path.startswith("/conversations/") and path.endswith("/tracker/events"):
            return 200, {"sender_id": path.split("/")[2], "events": body}
        if path == "/model/parse":  # the NLU alone: no tracker changes
            return 200, self.parse(body["text"], {})
        return 404, {"error": "not found"}


@pytest.fixture()
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.do_POST(get=True)

        def do_POST(self, get: bool = False) -> None:
            if get:
                status, answer = rasa.tracker(self.path)
            else:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                status, answer = rasa.answer(self.path, body)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the hub gave up waiting (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # socketserver's 5 resets connections when hubs call at once (Rasa's Sanic: 100)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rasa.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rasa
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture()
def dead_url() -> str:
    """An address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


# The database ----------------------------------------------------------------------------------------


def postgres_admin(sql: str) -> None:
    """Run one statement on CANDOR_TEST_POSTGRES_URL's database (outside a transaction, as CREATE DATABASE
    needs), in a thread of its own so that no event loop of the test's is touched."""
    url = make_url(POSTGRES_URL)

    async def run() -> None:
        connection = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
        )
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def postgres_database(name: str) -> URL:
    """The hub's URL for database `name` on CANDOR_TEST_POSTGRES_URL's server."""
    return make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=name)


@pytest.fixture()
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for this test: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        return
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail(f"CANDOR_REQUIRE_POSTGRES=1 but {NO_POSTGRES}", pytrace=False)
        pytest.skip(f"PostgreSQL: {NO_POSTGRES}")
    name = f"t_{uuid.uuid4().hex}"
    postgres_admin(f"CREATE DATABASE {name}")
    try:
        yield postgres_database(name).render_as_string(hide_password=False)
    finally:
        postgres_admin(f"DROP DATABASE {name} WITH (FORCE)")  # FORCE: PostgreSQL 13+


# Settings and the hub ------------------------------------------------------------------------------


@pytest.fixture()
def make_settings(database_url: str, fake_rasa: FakeRasa) -> Callable[..., Settings]:
    def make(**overrides: str) -> Settings:
        env = {
            "CANDOR_SERVICE_TOKEN": SERVICE_TOKEN,
            "CANDOR_CUSTOMER_TOKEN_SECRET": CUSTOMER_SECRET,
            "CANDOR_DATABASE_URL": database_url,
            "CANDOR_RASA_URL": fake_rasa.url,
            "CANDOR_RASA_TIMEOUT": "1",
            "CANDOR_SEED_FILE": str(DEMO_SEED),
            "CANDOR_HUB_PORT": str(free_port()),
            # Agents claim by hand unless a test says otherwise (test_routing.py tests the hub assigning them).
            "CANDOR_ASSIGNMENT": "claim",
        }
        env.update(overrides)
        return Settings.from_env(env)

    return make


@dataclass
class RunningHub:
    settings: Settings
    url: str
    repository: Repository
    client: httpx.AsyncClient
    core: Hub  # the app's flows object (app.ctx.hub), for tests that call a flow directly

    async def say(
        self, sender: str, text: str, customer_id: str | None = "C-1001", message_id: str | None = None
    ) -> list[dict[str, Any]]:
        """A customer message; with `customer_id`, signed in as that customer (a customer token); with
        `message_id`, carrying the client's id for it (idempotent intake)."""
        response = await self.post_message(sender, text, customer_id, message_id)
        assert response.status_code == 200, response.text
        return list(response.json())

    async def post_message(
        self, sender: str, text: str, customer_id: str | None = "C-1001", message_id: str | None = None
    ) -> httpx.Response:
        metadata: dict[str, Any] = {"customer_token": customer_token(customer_id)} if customer_id else {}
        if message_id is not None:
            metadata["message_id"] = message_id
        return await self.client.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata}
        )

    async def poll(
        self, sender: str, after: int = 0, customer_id: str | None = "C-1001", wait: int = 0
    ) -> httpx.Response:
        """The widget's poll, with the customer's token when `customer_id` is given; `wait`: a long poll."""
        headers = {"Authorization": f"Bearer {customer_token(customer_id)}"} if customer_id else {}
        params = {"after": after, **({"wait": wait} if wait else {})}
        return await self.client.get(f"/api/chat/{sender}/messages", params=params, headers=headers, timeout=40)

    async def login(self, username: str = "ana") -> dict[str, str]:
        """Bearer headers of a new session: an agent's (the console's login), or a trainer's (tess)."""
        path = "/api/trainer/login" if username == "tess" else "/api/agent/login"
        response = await self.client.post(path, json={"username": username, "password": AGENTS[username]})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    @property
    def bot_headers(self) -> dict[str, str]:
        return {"X-Candor-Service-Token": SERVICE_TOKEN}

    async def escalate(self, sender: str, **body: Any) -> httpx.Response:
        payload = {
            "reason": "customer_requested_human",
            "summary": "Marta (C-1001) has no internet since this morning.",
            "frustration": [
                {"score": 0.2, "level": "low", "text": "my internet is down"},
                {"score": 0.8, "level": "high", "text": "get me a person"},
            ],
            "problem": "internet down",
        }
        payload.update(body)
        return await self.client.post(
            f"/api/bot/conversations/{sender}/escalate", json=payload, headers=self.bot_headers
        )

    async def queued_conversation(self, text: str = "my internet is down") -> tuple[str, int]:
        """A new conversation, escalated: (sender, conversation id)."""
        sender = str(uuid.uuid4())
        await self.say(sender, text)
        response = await self.escalate(sender)
        assert response.status_code == 200, response.text
        conversation = await self.repository.conversation_by_sender(sender)
        assert conversation is not None and conversation.state == "queued"
        return sender, conversation.id


@pytest.fixture()
async def start_hub(make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """Start the real app on a free loopback port (as many as a test needs); all stop at the end."""
    stops: list[Callable[[], Any]] = []

    async def start(settings: Settings | None = None) -> RunningHub:
        settings = settings or make_settings()
        app = create_app(settings, name=f"hub_test_{uuid.uuid4().hex[:12]}")
        app.config.TOUCHUP = False  # Sanic rewrites its classes once per process; several apps here
        app.config.MOTD = False
        server = await app.create_server(host="127.0.0.1", port=settings.port, access_log=False)
        assert server is not None
        await server.startup()
        await server.before_start()
        await server.after_start()
        url = f"http://127.0.0.1:{settings.port}"
        client = httpx.AsyncClient(base_url=url, timeout=10)

        async def stop() -> None:
            await client.aclose()
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()

        stops.append(stop)
        return RunningHub(
            settings=settings, url=url, repository=app.ctx.hub.repository, client=client, core=app.ctx.hub
        )

    yield start
    for stop in reversed(stops):
        await stop()


@pytest.fixture()
async def hub(start_hub: Callable[..., Any]) -> RunningHub:
    running: RunningHub = await start_hub()
    return running
