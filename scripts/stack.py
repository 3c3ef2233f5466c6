"""Start and stop Candor's three processes: action server, Rasa server and handoff hub.

Used by `make run` (foreground, Ctrl-C stops everything) and by the end-to-end tests (on other ports,
with their own databases). Standard library only, so any of the project's Pythons can run it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT_BIN = ROOT / ".venv-bot" / "bin"
HUB_PYTHON = ROOT / ".venv-hub" / "bin" / "python"
DEMO_CUSTOMER = "C-1001"  # a customer of handoff/seed/demo.yml, affected by its open outage

__all__ = ["Ports", "Stack", "StackError", "free_port", "latest_model", "wait_until_ready"]


class StackError(RuntimeError):
    """A process did not start, or did not become ready in time."""


@dataclass(frozen=True)
class Ports:
    hub: int = 8000
    rasa: int = 5005
    actions: int = 5055
    host: str = "127.0.0.1"

    @classmethod
    def free(cls) -> Ports:
        """Three ports nothing listens on now (for tests running beside a `make run`)."""
        return cls(hub=free_port(), rasa=free_port(), actions=free_port())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def latest_model(models_dir: Path = ROOT / "models") -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise StackError(f"no trained model in {models_dir}: run `make train` first")
    return models[-1]


def _endpoints_yaml(ports: Ports, tracker_db: Path) -> str:
    # JSON is valid YAML, and needs no YAML library here.
    return json.dumps(
        {
            "action_endpoint": {"url": f"http://{ports.host}:{ports.actions}/webhook"},
            "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(tracker_db)},
        },
        indent=2,
    )


@dataclass
class Stack:
    """The three processes on `ports`, with their state and logs under `workdir`."""

    workdir: Path
    model: Path
    ports: Ports = Ports()
    service_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    customer_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # signs customer tokens
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def hub_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.hub}"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.rasa}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.actions}"

    def customer_token(self, customer_id: str, minutes: int = 1440) -> str:
        """A signed token for `customer_id`, as the customer's site would give the chat (the hub's own CLI)."""
        made = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            [str(HUB_PYTHON), "-m", "handoff.cli", "customer-token", customer_id, "--minutes", str(minutes)],
            cwd=ROOT,
            env={**self._env(), **self._hub_env()},
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise StackError(f"customer-token failed: {made.stderr.strip()}")
        return made.stdout.strip()

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "PYTHONUNBUFFERED": "1",
                "CANDOR_SERVICE_TOKEN": self.service_token,
                "CANDOR_HUB_URL": self.hub_url,
                "CANDOR_HUB_HOST": self.ports.host,
                "CANDOR_HUB_PORT": str(self.ports.hub),
                "CANDOR_RASA_URL": self.rasa_url,
                "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'hub.db'}",
            }
        )
        env.update(self.extra_env)
        return env

    def _hub_env(self) -> dict[str, str]:
        """What only the hub gets: the secret customer tokens are signed with (Rasa and the actions never see it)."""
        return {"CANDOR_CUSTOMER_TOKEN_SECRET": self.customer_secret}

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = self.log_path(name).open("ab")
        self.processes[name] = subprocess.Popen(  # noqa: S603 (our own programs, fixed arguments)
            argv,
            cwd=ROOT,
            env={**self._env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start(self, timeout: float = 180.0) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(_endpoints_yaml(self.ports, self.workdir / "rasa-tracker.db"))
        host, p = self.ports.host, self.ports
        self._spawn_actions()
        self._spawn(
            "rasa",
            [
                str(BOT_BIN / "rasa"),
                "run",
                "--enable-api",
                "--interface",
                host,
                "--port",
                str(p.rasa),
                "--model",
                str(self.model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(ROOT / "credentials.yml"),
            ],
        )
        self._spawn("hub", [str(HUB_PYTHON), "-m", "handoff"], env=self._hub_env())
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn_actions(self) -> None:
        self._spawn(
            "actions",
            [str(BOT_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(self.ports.actions)],
            env={"SANIC_HOST": self.ports.host},  # rasa-sdk listens on every interface unless told otherwise
        )

    def stop_actions(self, grace: float = 15.0) -> None:
        """Stop the action server alone (to see what the others do without it); `start_actions` brings it back."""
        proc = self.processes.pop("actions")
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()

    def start_actions(self, timeout: float = 120.0) -> None:
        self._spawn_actions()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        checks = {
            "actions": f"{self.actions_url}/health",
            "rasa": f"{self.rasa_url}/status",
            "hub": f"{self.hub_url}/health",
        }
        wait_until_ready(
            {name: (self.processes[name], url, self.log_path(name)) for name, url in checks.items()}, timeout
        )

    def stop(self, grace: float = 15.0) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        self.processes.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def wait_until_ready(checks: dict[str, tuple[subprocess.Popen[bytes], str, Path]], timeout: float) -> None:
    """Wait until every process answers 2xx at its URL; StackError if one exits or time runs out.

    `checks`: name -> (process, URL to poll, its log file).
    """
    deadline = time.monotonic() + timeout
    pending = dict(checks)
    while pending:
        for name, (proc, url, log) in list(pending.items()):
            if proc.poll() is not None:
                raise StackError(f"{name} exited with code {proc.returncode}; see {log}")
            if _answers(url):
                del pending[name]
        if pending and time.monotonic() > deadline:
            logs = ", ".join(str(log) for _, _, log in pending.values())
            raise StackError(f"not ready after {timeout:.0f}s: {', '.join(pending)} (logs: {logs})")
        time.sleep(0.5)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http URLs built here)
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Candor: action server, Rasa server and hub.")
    parser.add_argument("--model", type=Path, help="model archive (default: newest in models/)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var", help="state and logs (default: var/)")
    args = parser.parse_args(argv)

    ports = Ports(
        hub=int(os.environ.get("CANDOR_HUB_PORT", 8000)),
        rasa=int(os.environ.get("CANDOR_RASA_PORT", 5005)),
        actions=int(os.environ.get("CANDOR_ACTIONS_PORT", 5055)),
    )
    token = os.environ.get("CANDOR_SERVICE_TOKEN") or secrets.token_urlsafe(24)
    database = (
        {"CANDOR_DATABASE_URL": os.environ["CANDOR_DATABASE_URL"]} if os.environ.get("CANDOR_DATABASE_URL") else {}
    )
    stack = Stack(
        workdir=args.workdir.resolve(),
        model=(args.model or latest_model()).resolve(),
        ports=ports,
        service_token=token,
        customer_secret=os.environ.get("CANDOR_CUSTOMER_TOKEN_SECRET") or secrets.token_urlsafe(32),
        extra_env=database,
    )
    print(f"Starting Candor with model {stack.model.name} (logs in {stack.workdir / 'logs'}) ...", flush=True)
    try:
        stack.start()  # Ctrl-C here interrupts the start and stops what was started
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped before Candor was ready.", flush=True)
        return 130

    stopping, failed = False, False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(
        "\nCandor is running:\n"
        f"  chat widget     {stack.hub_url}/  (anonymous)\n"
        f"  signed in as {DEMO_CUSTOMER} {stack.hub_url}/?token={stack.customer_token(DEMO_CUSTOMER)}\n"
        "                  (another customer: .venv-hub/bin/python -m handoff.cli customer-token C-1002)\n"
        f"  agent console   {stack.hub_url}/console\n"
        f"  hub API         {stack.hub_url}/openapi.json\n"
        f"  Rasa server     {stack.rasa_url}\n"
        f"  action server   {stack.actions_url}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        while not stopping:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(
                        f"error: {name} stopped (code {proc.returncode}); see {stack.log_path(name)}", file=sys.stderr
                    )
                    stopping = failed = True
            time.sleep(0.5)
    finally:
        print("Stopping Candor ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
