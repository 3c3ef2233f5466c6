"""Business hours (handoff/hours.py): open or not, and when people are back, in the team's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff.hours import next_open, parse_hours

LISBON = parse_hours(
    "Europe/Lisbon",
    {d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": ["09:00-13:00", "14:00-17:00"]},
    ["2026-12-25"],
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        ("2026-11-30T10:00:00+00:00", "2026-11-30T10:00:00+00:00"),  # Monday, open: now
        ("2026-11-30T07:59:00+00:00", "2026-11-30T08:00:00+00:00"),  # before opening (Lisbon is UTC in winter)
        ("2026-11-30T20:00:00+00:00", "2026-12-01T08:00:00+00:00"),  # closing time is closed
        ("2026-12-05T13:30:00+00:00", "2026-12-05T14:00:00+00:00"),  # Saturday lunch break
        ("2026-12-05T18:00:00+00:00", "2026-12-07T08:00:00+00:00"),  # Saturday evening: Monday (Sunday closed)
        ("2026-12-24T21:00:00+00:00", "2026-12-26T09:00:00+00:00"),  # the 25th is a holiday; the 26th a Saturday
        ("2026-07-01T06:30:00+00:00", "2026-07-01T07:00:00+00:00"),  # summer time: 08:00 local is 07:00 UTC
        ("2026-03-29T06:00:00+00:00", "2026-03-30T07:00:00+00:00"),  # the Sunday clocks change: Monday, in summer time
    ],
)
def test_when_people_are_back(moment: str, opens: str) -> None:
    assert next_open(LISBON, at(moment)) == at(opens)


def test_a_day_to_midnight_joins_the_next_one() -> None:
    hours = parse_hours("UTC", {"fri": ["20:00-24:00"], "sat": ["00:00-02:00"]})
    assert hours.open_at(at("2026-12-04T23:59:00+00:00")) and hours.open_at(at("2026-12-05T00:30:00+00:00"))
    assert next_open(hours, at("2026-12-05T02:00:00+00:00")) == at("2026-12-11T20:00:00+00:00")


def test_a_team_never_open_is_never_back() -> None:
    assert next_open(parse_hours("UTC", {}), at("2026-12-05T02:00:00+00:00")) is None


@pytest.mark.parametrize(
    ("zone", "weekly", "holidays", "says"),
    [
        ("Mars/Olympus", {}, [], "IANA"),
        ("UTC", {"monday": ["08:00-20:00"]}, [], "'monday' is not a day"),
        ("UTC", {"mon": ["8-20"]}, [], "not a range"),
        ("UTC", {"mon": ["20:00-08:00"]}, [], "start before it ends"),
        ("UTC", {"mon": ["08:00-25:00"]}, [], "not a time of day"),
        ("UTC", {"mon": ["24:00-24:00"]}, [], "start before it ends"),
        ("UTC", {}, ["25/12/2026"], "not a date"),
    ],
)
def test_malformed_hours_are_refused_naming_the_problem(
    zone: str, weekly: dict[str, list[str]], holidays: list[str], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        parse_hours(zone, weekly, holidays)
