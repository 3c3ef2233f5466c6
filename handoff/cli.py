"""`python -m handoff.cli`: manage the hub from a shell (docs/hub-api.md has the same operations over HTTP).

- `add-agent --username U --name N [--role agent|supervisor|trainer] [--team T] [--skill S]... [--capacity C]`: add an
  agent (password from stdin or a prompt).
- `incident-open --title T --severity S [--service X]... [--region R]... [facts]`: open an incident.
- `incident-update ID [--status S] [--severity S] [--title T] [--service X]... [--region R]... [facts]`:
  change one; `--status resolved` resolves it. Facts: `--what-happened`, `--doing`, `--next-update`, `--eta`.
- `incident-list`: every incident, newest first.
- `customer-token CUSTOMER_ID [--minutes M]`: a signed customer token (metadata.customer_token), made with
  CANDOR_CUSTOMER_TOKEN_SECRET; for trying the chat as a customer (a real site mints its own).
- `review-list`, `review-show ID`, `review-label ID`, `review-discard ID`, `review-export`; `response-list`,
  `response-show ID`, `response-accept ID`, `response-reject ID`: the trainers' review inbox, response candidates,
  and their export into data/nlu/reviewed.yml and domain.yml (handoff/review_cli.py, docs/trainers.md).
- `db-upgrade`: migrate the database (CANDOR_DATABASE_URL) to the newest schema revision; print it. Needs
  no other setting (the hub also migrates at every start; handoff/README.md, "Schema and migrations").
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import ValidationError

from handoff import customer_tokens, migrations, models, review_cli
from handoff.auth import hash_password
from handoff.errors import HubError
from handoff.repository import Repository, create_engine
from handoff.routing import DEFAULT_CAPACITY
from handoff.schemas import AgentSeed, Incident, IncidentBody, IncidentUpdateBody
from handoff.settings import Settings, SettingsError, customer_token_secret

MIN_PASSWORD = 8
FACTS = {
    "what_happened": "--what-happened",
    "what_we_are_doing": "--doing",
    "next_update": "--next-update",
    "eta": "--eta",
}
Result = TypeVar("Result")


def read_password() -> str:
    """From a prompt on a terminal (asked twice), else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def with_store(settings: Settings, work: Callable[[Repository], Awaitable[Result]]) -> Result:
    repository = Repository(create_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout))
    try:
        await repository.migrate()
        return await work(repository)
    finally:
        await repository.engine.dispose()


async def db_upgrade(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            was, now = await connection.run_sync(migrations.upgrade)
    finally:
        await engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if was == now:
        return f"{where}: at revision {now} (the newest), nothing to do"
    return f"{where}: migrated from revision {was or 'none'} to {now}"


async def add_agent(settings: Settings, entry: AgentSeed) -> str:
    agent = await with_store(settings, lambda repository: repository.add_agent(entry, "cli"))
    where = f", team {entry.team}" if entry.team else ""
    skills = f", skills {', '.join(entry.skills)}" if entry.skills else ""
    return (
        f"added {agent.role} {agent.username} ({agent.display_name}), id {agent.id}{where}{skills}, "
        f"capacity {entry.capacity}"
    )


def customer_token(customer_id: str, minutes: int) -> str:
    secret = customer_token_secret(os.environ)
    if secret is None:
        raise SettingsError("CANDOR_CUSTOMER_TOKEN_SECRET is not set: set it to the secret the hub checks tokens with")
    return customer_tokens.mint(customer_id, secret, models.utcnow(), timedelta(minutes=minutes))


def describe(incident: Incident) -> str:
    state = f"resolved {incident.resolved_at:%Y-%m-%d %H:%M}" if incident.resolved_at else incident.status
    where = ", ".join([*incident.services, *incident.regions]) or "-"
    return f"{incident.id}  {incident.severity:<8}  {state:<22}  {incident.title}  ({where})"


def incident_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The options given, as the API's body (facts nested; options left out are not in it)."""
    fields: dict[str, Any] = {
        k: v for k in ("title", "severity", "status") if (v := getattr(args, k, None)) is not None
    }
    if args.service is not None:
        fields["services"] = args.service
    if args.region is not None:
        fields["regions"] = args.region
    facts = {field: value for field in FACTS if (value := getattr(args, field)) is not None}
    if facts:
        fields["facts"] = facts
    return fields


def incident_options(command: argparse.ArgumentParser, opening: bool) -> None:
    command.add_argument("--title", required=opening)
    command.add_argument("--severity", required=opening, help="minor, major or critical")
    command.add_argument("--status", help="investigating, identified, monitoring" + ("" if opening else " or resolved"))
    command.add_argument("--service", action="append", help="an affected service (repeat for several)")
    command.add_argument("--region", action="append", help="an affected region (repeat for several)")
    for field, option in FACTS.items():
        command.add_argument(option, dest=field, help=f"customer-facing fact: {field.replace('_', ' ')}")


def run(args: argparse.Namespace, settings: Settings) -> str:
    if args.command == "add-agent":
        password = read_password()
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
        if not 0 < len(args.username) <= 64 or not 0 < len(args.name) <= 100:
            raise ValueError("username (1-64 characters) and name (1-100 characters) are required")
        entry = AgentSeed(
            username=args.username,
            display_name=args.name,
            password_hash=hash_password(password),
            role=args.role,
            team=args.team,
            skills=args.skill or [],
            capacity=args.capacity,
        )
        return asyncio.run(add_agent(settings, entry))
    if args.command == "incident-open":
        body = IncidentBody.model_validate(incident_fields(args))
        opened = asyncio.run(with_store(settings, lambda repository: repository.open_incident(body, "cli")))
        return f"opened {describe(opened)}"
    if args.command == "incident-update":
        update = IncidentUpdateBody.model_validate(incident_fields(args))
        changed = asyncio.run(
            with_store(settings, lambda repository: repository.update_incident(args.incident_id, update, "cli"))
        )
        return f"updated {describe(changed)}"
    incidents = asyncio.run(with_store(settings, lambda repository: repository.incidents()))
    return "\n".join(describe(i) for i in incidents) or "no incidents"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.cli", description="Manage the hub.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-agent", help="add an agent who can log in to the console")
    add.add_argument("--username", required=True)
    add.add_argument("--name", required=True, help="display name shown to customers")
    add.add_argument("--role", default="agent", choices=["agent", "supervisor", "trainer"])
    add.add_argument("--team", help="the team they work in (lowercase, e.g. billing)")
    add.add_argument("--skill", action="append", help="a skill routing matches (repeat for several)")
    add.add_argument("--capacity", type=int, default=DEFAULT_CAPACITY, help="conversations at once (default 3)")
    incident_options(commands.add_parser("incident-open", help="open an incident"), opening=True)
    update = commands.add_parser("incident-update", help="change an incident; --status resolved resolves it")
    update.add_argument("incident_id")
    incident_options(update, opening=False)
    commands.add_parser("incident-list", help="every incident, newest first")
    commands.add_parser("db-upgrade", help="migrate CANDOR_DATABASE_URL to the newest schema revision")
    token = commands.add_parser("customer-token", help="a signed token that makes a chat this customer's")
    token.add_argument("customer_id")
    token.add_argument("--minutes", type=int, default=60, help="how long it is valid (default 60, at most 1440)")
    review_cli.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        if args.command in review_cli.COMMANDS:
            print(asyncio.run(review_cli.run(args, Settings.from_env())))
        elif args.command == "db-upgrade":
            print(asyncio.run(db_upgrade(migrations.database_url(os.environ))))
        elif args.command == "customer-token":
            print(customer_token(args.customer_id, args.minutes))
        else:
            print(run(args, Settings.from_env()))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        print(f"error: {problems}", file=sys.stderr)
        return 1
    except (SettingsError, ValueError, HubError, migrations.MigrationError) as error:
        message = error.message if isinstance(error, HubError) else str(error)
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
