"""handoff/cli.py: add-agent reads the password from stdin, stores only a bcrypt hash."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handoff.repository import Repository, create_engine
from handoff.settings import ROOT


def run_cli(
    tmp_path: Path, *args: str, password: str = "a-good-password\n", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CANDOR_SERVICE_TOKEN": "cli-test-service-token",
        "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "handoff.cli", *args],
        input=password,
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.mark.sqlite_only("the CLI and the hub share a SQLite file")
async def test_add_agent_then_log_in(tmp_path: Path, start_hub: Any, make_settings: Any) -> None:
    result = run_cli(tmp_path, "add-agent", "--username", "rita", "--name", "Rita")
    assert result.returncode == 0, result.stderr
    assert "added agent rita (Rita)" in result.stdout

    repository = Repository(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    try:
        found = await repository.agent_credentials("rita")
        assert found is not None and found[1].startswith("$2b$") and "a-good-password" not in found[1]
    finally:
        await repository.engine.dispose()

    hub = await start_hub(make_settings(CANDOR_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    response = await hub.client.post("/api/agent/login", json={"username": "rita", "password": "a-good-password"})
    assert response.status_code == 200 and response.json()["agent"]["display_name"] == "Rita"

    again = run_cli(tmp_path, "add-agent", "--username", "rita", "--name", "Rita")
    assert again.returncode == 1 and "exists already" in again.stderr


@pytest.mark.sqlite_only("the CLI and the test share a SQLite file")
async def test_add_agent_with_role_team_skills_and_capacity(tmp_path: Path) -> None:
    args = ["--role", "supervisor", "--team", "billing", "--skill", "billing", "--skill", "internet"]
    result = run_cli(tmp_path, "add-agent", "--username", "sue", "--name", "Sue", *args, "--capacity", "4")
    assert result.returncode == 0, result.stderr
    assert "added supervisor sue (Sue)" in result.stdout and "team billing, skills billing, internet" in result.stdout
    repository = Repository(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    try:
        found = await repository.agent_credentials("sue")
        assert found is not None
        profile = await repository.agent_profile(found[0])
    finally:
        await repository.engine.dispose()
    assert (profile.agent.role, profile.team, profile.skills, profile.capacity) == (
        "supervisor",
        "billing",
        ["billing", "internet"],
        4,
    )
    assert profile.presence == "offline"  # until they log in

    for bad, says in ((["--skill", "Billing!"], "skills"), (["--capacity", "0"], "capacity")):
        refused = run_cli(tmp_path, "add-agent", "--username", "x", "--name", "X", *bad)
        assert refused.returncode == 1 and says in refused.stderr, refused.stderr


def test_add_agent_refuses_a_short_password(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "add-agent", "--username", "x", "--name", "X", password="short\n")
    assert result.returncode == 1 and "at least 8" in result.stderr


def test_cli_needs_the_service_token(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "add-agent", "--username", "x", "--name", "X", CANDOR_SERVICE_TOKEN="")
    assert result.returncode == 1 and "CANDOR_SERVICE_TOKEN" in result.stderr


def test_an_operator_opens_updates_and_resolves_an_incident_from_the_shell(tmp_path: Path) -> None:
    opened = run_cli(
        tmp_path,
        "incident-open",
        "--title",
        "TV outage in Faro",
        "--severity",
        "major",
        "--service",
        "tv",
        "--region",
        "Faro",
        "--what-happened",
        "A satellite feed failed at 20:00.",
    )
    assert opened.returncode == 0, opened.stderr
    incident_id = opened.stdout.split()[1]
    assert incident_id.startswith("INC-") and "investigating" in opened.stdout and "(tv, Faro)" in opened.stdout

    updated = run_cli(tmp_path, "incident-update", incident_id, "--status", "identified", "--eta", "by 22:00 today")
    assert updated.returncode == 0, updated.stderr
    repository = Repository(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    try:
        stored = {i.id: i for i in asyncio.run(repository.incidents())}[incident_id]
    finally:
        asyncio.run(repository.engine.dispose())
    assert (stored.status, stored.facts.eta) == ("identified", "by 22:00 today")
    assert stored.facts.what_happened == "A satellite feed failed at 20:00."
    resolved = run_cli(tmp_path, "incident-update", incident_id, "--status", "resolved")
    assert resolved.returncode == 0 and "resolved 20" in resolved.stdout

    listed = run_cli(tmp_path, "incident-list")
    assert listed.returncode == 0 and incident_id in listed.stdout and "TV outage in Faro" in listed.stdout


def test_bad_incident_commands_say_what_is_wrong(tmp_path: Path) -> None:
    bad = run_cli(tmp_path, "incident-open", "--title", "Outage", "--severity", "huge")
    assert bad.returncode == 1 and "severity" in bad.stderr
    missing = run_cli(tmp_path, "incident-update", "INC-NOPE", "--status", "resolved")
    assert missing.returncode == 1 and "no incident INC-NOPE" in missing.stderr
    assert run_cli(tmp_path, "incident-list").stdout.strip() == "no incidents"
    nothing = run_cli(tmp_path, "incident-update", "INC-NOPE")
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr
