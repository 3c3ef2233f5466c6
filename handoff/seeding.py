"""Reading a seed file (YAML): demo customers, incidents, agents and teams, loaded idempotently at start.

An incident's `started_at`/`resolved_at` is an ISO 8601 timestamp, or a time relative to loading such
as `-3h`, `-90m`, `-2d` (a relative start is kept once stored, so restarts do not move it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, ValidationError, model_validator

from handoff.hours import parse_hours
from handoff.schemas import AgentSeed, Customer, Incident, Team, TeamName

__all__ = ["Seed", "SeedError", "load_seed", "parse_seed"]

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class SeedError(ValueError):
    """The seed file is missing or malformed; the message says where."""


class TeamEntry(Team):
    """A team as the seed file writes it: the record's fields, checked (its name, its hours), nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TeamName
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hours_make_sense(self) -> TeamEntry:
        parse_hours(self.timezone, self.hours, self.holidays)  # ValueError naming the problem
        return self


@dataclass(frozen=True)
class Seed:
    customers: list[Customer]
    incidents: list[Incident]
    agents: list[AgentSeed]
    teams: list[Team] = field(default_factory=list)


def _moment(value: Any, now: datetime, where: str) -> Any:
    if isinstance(value, str) and (match := _RELATIVE.match(value.strip())):
        amount, unit = match.groups()
        return now - timedelta(**{_UNITS[unit]: float(amount)})
    if isinstance(value, datetime) and value.tzinfo is None:
        raise SeedError(f"{where}: timestamps need a time zone (e.g. 2026-11-29T08:00:00Z)")
    return value


def parse_seed(document: Any, source: str = "seed", now: datetime | None = None) -> Seed:
    now = now or datetime.now(UTC)
    if not isinstance(document, dict):
        raise SeedError(f"{source}: expected a mapping with customers, incidents and agents")
    customers, incidents, agents = [], [], []
    teams: list[Team] = []
    try:
        for n, entry in enumerate(document.get("teams") or []):
            where = f"{source}: teams[{n}]"
            teams.append(TeamEntry.model_validate(entry))
        for n, entry in enumerate(document.get("customers") or []):
            where = f"{source}: customers[{n}]"
            customers.append(Customer.model_validate(entry))
        for n, entry in enumerate(document.get("incidents") or []):
            where = f"{source}: incidents[{n}]"
            entry = dict(entry)
            for key in ("started_at", "resolved_at"):
                if entry.get(key) is not None:
                    entry[key] = _moment(entry[key], now, f"{where}.{key}")
            entry.setdefault("resolved_at", None)
            incidents.append(Incident.model_validate(entry))
        for n, entry in enumerate(document.get("agents") or []):
            where = f"{source}: agents[{n}]"
            agent = AgentSeed.model_validate(entry)
            agents.append(agent)
    except (ValidationError, TypeError, ValueError) as error:
        if isinstance(error, SeedError):
            raise
        raise SeedError(f"{where}: {error}") from None
    return Seed(customers, incidents, agents, teams)


def load_seed(path: Path, now: datetime | None = None) -> Seed:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SeedError(f"cannot read seed file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise SeedError(f"seed file {path} is not valid YAML: {error}") from None
    return parse_seed(document, str(path), now)
