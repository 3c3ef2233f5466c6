"""handoff/seeding.py and loading at start: the demo seed is valid, and loading it twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handoff.app import prepare_store
from handoff.repository import Repository, create_engine
from handoff.seeding import SeedError, load_seed, parse_seed
from handoff.settings import ROOT, Settings

DEMO_SEED = ROOT / "handoff" / "seed" / "demo.yml"


async def test_loading_the_seed_twice_is_idempotent(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    repository = Repository(create_engine(settings.database_url))
    try:
        await prepare_store(repository, settings)
        counts, incidents = await repository.counts(), await repository.incidents()
        await prepare_store(repository, settings)
        again = await repository.counts()
        assert {k: v for k, v in again.items() if k != "audit"} == {k: v for k, v in counts.items() if k != "audit"}
        assert (counts["customers"], counts["incidents"], counts["agents"]) == (5, 2, 3)
        assert await repository.incidents() == incidents  # a relative started_at stays put
        open_incidents = [i for i in incidents if i.resolved_at is None]
        assert len(open_incidents) == 1 and open_incidents[0].regions == ["Lisbon"]
        assert all(open_incidents[0].facts.model_dump().values())
    finally:
        await repository.engine.dispose()


def test_relative_times() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    document = {
        "incidents": [
            {
                "id": "I-1",
                "title": "t",
                "status": "identified",
                "severity": "major",
                "services": ["internet"],
                "regions": ["Lisbon"],
                "started_at": "-90m",
                "facts": {},
            }
        ]
    }
    (incident,) = parse_seed(document, now=now).incidents
    assert incident.started_at == now - timedelta(minutes=90) and incident.resolved_at is None


@pytest.mark.parametrize(
    "document",
    [
        ["not", "a", "mapping"],
        {"customers": [{"id": "C-1"}]},
        {"agents": [{"username": "x", "display_name": "X"}]},
        {"incidents": [{"id": "I", "started_at": "yesterday"}]},
    ],
)
def test_bad_seed_is_refused_with_where(document: Any) -> None:
    with pytest.raises(SeedError, match="seed"):
        parse_seed(document)


@pytest.mark.parametrize(
    ("team", "says"),
    [
        ({"name": "night", "display_name": "Night", "timezone": "Mars/Olympus"}, "IANA"),
        ({"name": "night", "display_name": "Night", "timezone": "UTC", "hours": {"mon": ["22:00-06:00"]}}, "before"),
        ({"name": "Night Shift", "display_name": "Night", "timezone": "UTC"}, "name"),
        ({"name": "night", "display_name": "Night", "timezone": "UTC", "open": "always"}, "open"),
    ],
)
def test_a_bad_team_is_refused_naming_it_and_the_problem(team: dict[str, Any], says: str) -> None:
    with pytest.raises(SeedError, match=rf"(?s)teams\[0\].*{says}"):
        parse_seed({"teams": [team]})


def test_demo_seed_parses() -> None:
    seed = load_seed(DEMO_SEED)
    assert [c.id for c in seed.customers][:2] == ["C-1001", "C-1002"]
    assert {a.username for a in seed.agents} == {"ana", "ben", "tess"}
    assert [(t.name, t.timezone) for t in seed.teams] == [("support", "Europe/Lisbon"), ("billing", "Europe/Lisbon")]
