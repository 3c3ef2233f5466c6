"""The real system on loopback: Rasa server (trained model), action server and hub, on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import HUB_PYTHON, Ports, Stack, free_port, latest_model  # noqa: E402

from handoff import customer_tokens, models  # noqa: E402

AGENT = {"username": "e2e-rita", "name": "Rita", "password": "e2e-password-rita"}
CUSTOMER_SECRET = "e2e-customer-token-secret-0123456789abcdef"
SKILLS = ("internet", "tv", "mobile", "landline", "billing", "order", "app", "email")  # every service the bot names


def customer_token(customer_id: str) -> str:
    """What the customer's site gives its chat: a signed token for this customer (handoff/customer_tokens.py)."""
    return customer_tokens.mint(customer_id, CUSTOMER_SECRET, models.utcnow())


def chat(hub: httpx.Client, sender: str, customer_id: str = "C-1001") -> dict[str, Any]:
    """The widget's poll of this customer's conversation: state, queue and every message after the bot's."""
    headers = {"Authorization": f"Bearer {customer_token(customer_id)}"}
    response = hub.get(f"/api/chat/{sender}/messages", headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="session")
def shop_origin() -> str:
    """The origin of a page of the customer's own site (another port), where a chat widget we did not write
    runs: the hub lets it use the socket.io channel (CANDOR_SOCKET_ORIGINS); test_browser_chat.py serves it."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, shop_origin: str) -> Iterator[Stack]:
    model = Path(os.environ["CANDOR_MODEL"]) if os.environ.get("CANDOR_MODEL") else latest_model()
    running = Stack(
        workdir=tmp_path_factory.mktemp("stack"),
        model=model.resolve(),
        ports=Ports.free(),
        customer_secret=CUSTOMER_SECRET,
    )
    with pytest.MonkeyPatch.context() as environment:  # the stack's processes take the test process's environment
        environment.setenv("CANDOR_SOCKET_ORIGINS", shop_origin)
        running.start(timeout=240)
    try:
        subprocess.run(
            [
                str(HUB_PYTHON),
                "-m",
                "handoff.cli",
                "add-agent",
                "--username",
                AGENT["username"],
                "--name",
                AGENT["name"],
                "--capacity",
                "50",  # the one agent of these tests: the hub gives every waiting conversation to Rita
                *(arg for skill in SKILLS for arg in ("--skill", skill)),
            ],
            input=AGENT["password"] + "\n",
            text=True,
            cwd=ROOT,
            env=running._env(),
            check=True,
            capture_output=True,
        )
        yield running
    finally:
        running.stop()


@pytest.fixture()
def hub(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.hub_url, timeout=60) as client:
        yield client


@pytest.fixture()
def rasa(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.rasa_url, timeout=60) as client:
        yield client
