"""Browser tests of the agent console and the chat widget: Debian's Chromium, driven by Playwright, against
real hub processes.

- `browser`: one headless Chromium per test module, the system's (/usr/bin/chromium, `apt-get install
  chromium`; .ci/run installs it). Playwright never downloads a browser here: it is told where Chromium is.
- `start_hub(**env)`: a hub started as its own process (`python -m handoff`, as scripts/stack.py starts it), on a
  free port, with a new SQLite file, the demo seed (agents ana and ben, ben a supervisor) and no Rasa at all:
  its URL names a port that refuses connections, so a customer's first message queues the conversation for a
  person (reason `bot_unavailable`), which is all the agent side needs. Claim mode unless the test says
  otherwise (`start_hub(CANDOR_ASSIGNMENT="auto")`). `hub.go_down()` and `hub.come_back()` stop it and start it
  again on the same port and database: a dropped connection, as a page sees it.
- `console(hub, username)`: a signed-in console page in a browser context of its own (one per agent, as two
  people at two browsers). An uncaught script error on a console page fails the test; a failing test leaves
  a screenshot of each page and the hub's log in its tmp_path and prints where.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import free_port, wait_until_ready  # noqa: E402

from tests.browser.chromium import launch as launch_chromium  # noqa: E402

SERVICE_TOKEN = "browser-tests-service-token-0123456789"
PASSWORDS = {"ana": "candor-demo-ana", "ben": "candor-demo-ben"}  # handoff/seed/demo.yml (handoff/README.md)
TIMEOUT_MS = 15_000  # the console refreshes every 2-3 s; a busy 2-core machine needs slack beyond that

expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Remember whether the test itself failed, for the fixtures' teardown (screenshots, hub log)."""
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Warnings are errors here, as in the hub's own tests (only here: other folders share the pytest config)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings("error"), append=False)


def failed(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.stash.get(FAILED, False))


# The browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: while Playwright's sync API is open its event loop runs in this thread, and asyncio tests
    (tests/handoff) collected after a browser module could not start theirs."""
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()


# The hub ----------------------------------------------------------------------------------------------


@dataclass
class Hub:
    """A running hub process: its URL, an HTTP client for the customer's side and for checks, its log."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """A customer's message through the Rasa REST webhook, as any chat client sends it (anonymous)."""
        response = self.client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
        assert response.status_code == 200, response.text
        answer: list[dict[str, Any]] = response.json()
        return answer

    def queued_customer(self, text: str) -> str:
        """A new customer whose first message finds no bot: the hub queues them for a person. Their sender id."""
        sender = f"browser-{uuid.uuid4()}"
        answer = self.say(sender, text)
        assert [m["custom"]["from"] for m in answer] == ["system"], answer  # "... put you in the queue ..."
        return sender

    def chat(self, sender: str) -> dict[str, Any]:
        """The widget's poll of that customer's conversation."""
        response = self.client.get(f"/api/chat/{sender}/messages")
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def get(self, path: str, token: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})

    def api(self, path: str, token: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, token, **params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def conversation_id(self, sender: str, token: str) -> int:
        """The id of the conversation with `sender` (from the agent's queue, waiting or mine)."""
        queue = self.api("/api/agent/queue", token)
        found = [i["conversation_id"] for i in queue["queued"] + queue["mine"] if i["sender"] == sender]
        assert found, f"{sender} is not in the queue: {queue}"
        return int(found[0])

    def go_down(self) -> None:
        """Stop the hub process (to a page, the connection drops); `come_back` starts it again."""
        self._stop_process()

    def come_back(self) -> None:
        """The hub again: the same port, the same database."""
        self.process = launch_hub(self.env, self.log)
        wait_until_ready({"hub": (self.process, f"{self.url}/health", self.log)}, timeout=60)

    def stop(self) -> None:
        self.client.close()
        self._stop_process()

    def _stop_process(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def launch_hub(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m handoff` with this environment, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "handoff"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one
        )


@pytest.fixture()
def start_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """Start a hub process: `start_hub(CANDOR_ASSIGNMENT="auto", CANDOR_WAIT_ALERT_SECONDS="1", ...)`."""
    hubs: list[Hub] = []
    reserved: list[socket.socket] = []

    def start(**overrides: str) -> Hub:
        port = free_port()
        no_rasa = socket.socket()  # bound, never listening: connections are refused, and no one else gets the port
        no_rasa.bind(("127.0.0.1", 0))
        reserved.append(no_rasa)
        workdir = tmp_path / f"hub-{len(hubs)}"
        workdir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}  # nothing of the caller's
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "CANDOR_SERVICE_TOKEN": SERVICE_TOKEN,
                "CANDOR_HUB_HOST": "127.0.0.1",
                "CANDOR_HUB_PORT": str(port),
                "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}",
                "CANDOR_RASA_URL": f"http://127.0.0.1:{no_rasa.getsockname()[1]}",  # refused: no bot
                "CANDOR_RASA_TIMEOUT": "1",
                "CANDOR_SEED_FILE": str(ROOT / "handoff" / "seed" / "demo.yml"),
                "CANDOR_ASSIGNMENT": "claim",
            }
        )
        env.update(overrides)
        log = workdir / "hub.log"
        hub = Hub(url=f"http://127.0.0.1:{port}", log=log, process=launch_hub(env, log), env=env)
        hubs.append(hub)
        wait_until_ready({"hub": (hub.process, f"{hub.url}/health", log)}, timeout=60)
        return hub

    yield start
    for hub in hubs:
        hub.stop()
    for reservation in reserved:
        reservation.close()
    for hub in hubs:
        if failed(request):
            lines = hub.log.read_text(errors="replace").splitlines()
            print(f"--- {hub.log} (last 40 lines) ---", *lines[-40:], sep="\n")


@pytest.fixture()
def hub(start_hub: Callable[..., Hub]) -> Hub:
    """A hub in claim mode (agents take conversations from the queue)."""
    return start_hub()


# Console pages ------------------------------------------------------------------------------------------


@dataclass
class Console:
    """One agent's console page, signed in."""

    page: Page
    username: str
    errors: list[str]

    @property
    def token(self) -> str:
        """The console's own agent token (as it keeps it), to ask the hub what the console did."""
        value = self.page.evaluate("sessionStorage.getItem('candor.agentToken')")
        assert isinstance(value, str) and value, "the console holds no token"
        return value


def new_page(browser: Browser, contexts: list[BrowserContext], width: int) -> tuple[Page, list[str]]:
    """A page in a browser context of its own (added to `contexts`, for the caller to close), and the list its
    uncaught script errors go to."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


@pytest.fixture()
def console(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Console]]:
    """`console(hub, "ana")`: a new browser context, the console page, logged in as that demo agent."""
    opened: list[Console] = []
    contexts: list[BrowserContext] = []

    def open_console(hub: Hub, username: str) -> Console:
        page, errors = new_page(browser, contexts, width=1400)
        page.goto(f"{hub.url}/console")
        page.get_by_label("Username", exact=True).fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORDS[username])
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#app")).to_be_visible()
        expect(page.locator("#profile")).to_be_visible()  # GET /api/agent/me answered
        agent = Console(page=page, username=username, errors=errors)
        opened.append(agent)
        return agent

    yield open_console
    if failed(request):
        for agent in opened:
            shot = tmp_path / f"console-{agent.username}.png"
            with contextlib.suppress(Exception):
                agent.page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of {agent.username}'s console: {shot}")
    for context in contexts:
        context.close()
    errors = [f"{agent.username}: {error}" for agent in opened for error in agent.errors]
    assert not errors, f"script errors on console pages: {errors}"


def eventually(check: Callable[[], Any], timeout: float = TIMEOUT_MS / 1000, what: str = "") -> Any:
    """Call `check` until it returns something truthy (its value) or `timeout` seconds pass (fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not so after {timeout:.0f} s: {what or check}", pytrace=False)
        time.sleep(0.2)
