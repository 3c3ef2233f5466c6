"""`python -m handoff`: starts, serves, stops cleanly on SIGTERM; refuses to start without a token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from handoff.settings import ROOT
from tests.handoff.conftest import CUSTOMER_SECRET


def environment(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CANDOR_SERVICE_TOKEN": "main-test-service-token",
        "CANDOR_CUSTOMER_TOKEN_SECRET": CUSTOMER_SECRET,
        "CANDOR_ASSIGNMENT": "claim",  # these hubs' agents claim by hand
        "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'hub.db'}",
        "CANDOR_HUB_PORT": str(port),
        **extra,
    }


@pytest.mark.sqlite_only("a process on its own SQLite file, which it must create with its folder")
def test_runs_and_stops_on_sigterm(tmp_path: Path, make_settings: Any) -> None:
    port = make_settings().port
    process = subprocess.Popen(
        [sys.executable, "-m", "handoff"],
        cwd=ROOT,
        env=environment(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json() == {"status": "ok"}:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.2)
        assert (tmp_path / "nested" / "hub.db").exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def test_refuses_to_start_without_a_service_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "handoff"],
        cwd=ROOT,
        env=environment(tmp_path, 1, CANDOR_SERVICE_TOKEN=""),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "CANDOR_SERVICE_TOKEN is not set" in result.stderr
