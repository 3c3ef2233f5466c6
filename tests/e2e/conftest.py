"""The real system on loopback: Rasa server (trained model), action server and hub, on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import HUB_PYTHON, Ports, Stack, latest_model  # noqa: E402

AGENT = {"username": "e2e-rita", "name": "Rita", "password": "e2e-password-rita"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = Path(os.environ["CANDOR_MODEL"]) if os.environ.get("CANDOR_MODEL") else latest_model()
    running = Stack(
        workdir=tmp_path_factory.mktemp("stack"),
        model=model.resolve(),
        ports=Ports.free(),
    )
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
