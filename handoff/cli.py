"""`python -m handoff.cli add-agent --username U --name N`: add an agent (password from stdin or a prompt)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from handoff.auth import hash_password
from handoff.errors import HubError
from handoff.repository import Repository, create_engine
from handoff.settings import Settings, SettingsError

MIN_PASSWORD = 8


def read_password() -> str:
    """From a prompt on a terminal (asked twice), else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def add_agent(settings: Settings, username: str, name: str, password: str) -> str:
    repository = Repository(create_engine(settings.database_url))
    try:
        await repository.create_tables()
        agent = await repository.add_agent(username, name, hash_password(password), actor="cli")
        return f"added agent {agent.username} ({agent.display_name}), id {agent.id}"
    finally:
        await repository.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.cli", description="Manage the hub.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-agent", help="add an agent who can log in to the console")
    add.add_argument("--username", required=True)
    add.add_argument("--name", required=True, help="display name shown to customers")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        password = read_password()
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
        if not 0 < len(args.username) <= 64 or not 0 < len(args.name) <= 100:
            raise ValueError("username (1-64 characters) and name (1-100 characters) are required")
        print(asyncio.run(add_agent(settings, args.username, args.name, password)))
    except (SettingsError, ValueError, HubError) as error:
        message = error.message if isinstance(error, HubError) else str(error)
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
