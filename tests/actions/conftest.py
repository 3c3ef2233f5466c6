"""Fixtures for the actions: trackers built from events, and the real hub as a process."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from rasa_sdk import Tracker

from actions import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import HUB_PYTHON, StackError, free_port, wait_until_ready  # noqa: E402

CUSTOMER_SECRET = secrets.token_urlsafe(32)


def customer_token(customer_id: str) -> str:
    """A signed-in customer's token, as their site would mint it (an HS256 JWT: handoff/customer_tokens.py)."""
    now = int(time.time())
    return jwt.encode({"sub": customer_id, "iat": now, "exp": now + 3600}, CUSTOMER_SECRET, algorithm="HS256")


class RunningHub:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self._agent_token: str | None = None

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def context(self, sender: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/bot/conversations/{sender}/context", headers={"X-Candor-Service-Token": self.token}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def _agent_headers(self) -> dict[str, str]:
        """Ana's bearer token, from one login: the hub allows 10 logins a minute from one address."""
        if self._agent_token is None:
            login = {"username": "ana", "password": "candor-demo-ana"}
            self._agent_token = self.post("/api/agent/login", login)["token"]
        return {"Authorization": f"Bearer {self._agent_token}"}

    def packet(self, sender: str) -> Any:
        """The handoff packet an agent sees for this sender's conversation (its latest escalation)."""
        conversation_id = self.context(sender)["conversation_id"]
        request = urllib.request.Request(
            f"{self.url}/api/agent/conversations/{conversation_id}", headers=self._agent_headers()
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def back_with_the_bot(self, sender: str) -> None:
        """An agent claims the (queued) conversation and hands it back, so the bot may escalate it again."""
        conversation_id, headers = self.context(sender)["conversation_id"], self._agent_headers()
        self.post(f"/api/agent/conversations/{conversation_id}/claim", {}, headers)
        self.post(f"/api/agent/conversations/{conversation_id}/handback", {"note": "test"}, headers)
        assert self.context(sender)["state"] == "bot"

    def start_conversation(self, customer_id: str) -> str:
        """A conversation of this customer in the hub (the bot is not running, so it is queued)."""
        sender = "t-" + secrets.token_hex(8)
        metadata = {"customer_token": customer_token(customer_id)}
        self.post("/webhooks/rest/webhook", {"sender": sender, "message": "hello", "metadata": metadata})
        return sender


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    workdir = tmp_path_factory.mktemp("hub")
    port, token = free_port(), secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "CANDOR_HUB_PORT": str(port),
        "CANDOR_SERVICE_TOKEN": token,
        "CANDOR_CUSTOMER_TOKEN_SECRET": CUSTOMER_SECRET,
        "CANDOR_ASSIGNMENT": "claim",  # the tests' agent claims by hand
        "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}",
        "CANDOR_RASA_URL": f"http://127.0.0.1:{free_port()}",  # no Rasa here: the actions are called directly
    }
    log = workdir / "hub.log"
    process = subprocess.Popen(
        [str(HUB_PYTHON), "-m", "handoff"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready({"hub": (process, f"{url}/health", log)}, timeout=60)
    except StackError:
        process.kill()
        raise
    yield RunningHub(url, token)
    process.terminate()
    process.wait(10)


@pytest.fixture()
def use_hub(hub: RunningHub, monkeypatch: pytest.MonkeyPatch) -> RunningHub:
    """Point the actions' settings at the test hub."""
    monkeypatch.setenv("CANDOR_HUB_URL", hub.url)
    monkeypatch.setenv("CANDOR_SERVICE_TOKEN", hub.token)
    settings_module.settings.cache_clear()
    yield hub
    settings_module.settings.cache_clear()


@pytest.fixture()
def make_tracker() -> Callable[..., Tracker]:
    """A Tracker whose events are the given customer messages (text, intent, frustration level)."""

    def make(
        sender: str,
        messages: list[tuple[str, str, str]],
        slots: dict[str, Any] | None = None,
        first_sent: float | None = None,
    ) -> Tracker:
        """`first_sent`: the first message's Unix time (the others follow a minute apart); default: none."""
        scores = {"none": 0.05, "low": 0.35, "medium": 0.6, "high": 0.9}
        events = []
        for index, (text, intent, level) in enumerate(messages):
            parse = {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "intent_ranking": [{"name": intent, "confidence": 0.9}],
                "entities": [],
                "frustration": {"score": scores[level], "level": level},
            }
            event = {"event": "user", "text": text, "parse_data": parse}
            if first_sent is not None:
                event["timestamp"] = first_sent + 60 * index
            events.append(event)
        all_slots = {
            "apologies_stopped": False,
            "handoff_offered": False,
            "handoff_declined": False,
            "frustration_trend": "calm",
            "apologized_problems": [],
            "human_helped": False,
        }
        return Tracker(
            sender, {**all_slots, **(slots or {})}, events[-1]["parse_data"], events, False, None, {}, "action_listen"
        )

    return make
