"""Business hours of a team: when people are there, and when they are back (pure; docs/hub-api.md, "Teams").

A team's hours are weekly ranges in its own time zone (IANA name, e.g. Europe/Lisbon), such as
`{"mon": ["08:00-20:00"], "sat": ["09:00-13:00", "14:00-17:00"]}`; a day left out is closed; "24:00" ends a
day at midnight. Holidays are dates (YYYY-MM-DD, in the team's zone) closed all day. Daylight saving is the
zone's: 08:00 is 08:00 local time whatever the UTC offset that day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handoff.schemas import Team

__all__ = ["DAYS", "Hours", "next_open", "opening", "parse_hours", "spoken"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
LOOK_AHEAD_DAYS = 400  # a team closed for longer than this is "not back on any known date"


@dataclass(frozen=True)
class Hours:
    zone: ZoneInfo
    weekly: Mapping[int, Sequence[tuple[time, time | None]]]  # weekday (0 = Monday) -> [(start, end)]; None = 24:00
    holidays: frozenset[date] = field(default_factory=frozenset)

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now and (end is None or now < end) for start, end in self.weekly.get(local.weekday(), ()))


def _clock(hours: str, minutes: str, where: str) -> time | None:
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{where}: {hours}:{minutes} is not a time of day")
    return time(h, m)


def parse_hours(zone: str, weekly: Mapping[str, Iterable[str]], holidays: Iterable[str] = ()) -> Hours:
    """Hours from their written form; ValueError naming what is wrong."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {zone!r} is not an IANA time zone name (e.g. Europe/Lisbon)") from None
    ranges: dict[int, list[tuple[time, time | None]]] = {}
    for day, spans in weekly.items():
        if day not in DAYS:
            raise ValueError(f"hours: {day!r} is not a day ({', '.join(DAYS)})")
        for span in spans:
            match = _RANGE.match(str(span).strip())
            if match is None:
                raise ValueError(f"hours.{day}: {span!r} is not a range like 08:00-20:00")
            start = _clock(match[1], match[2], f"hours.{day}")
            end = _clock(match[3], match[4], f"hours.{day}")
            if start is None or (end is not None and end <= start):
                raise ValueError(f"hours.{day}: {span!r} must start before it ends")
            ranges.setdefault(DAYS.index(day), []).append((start, end))
    closed: set[date] = set()
    for holiday in holidays:
        try:
            closed.add(date.fromisoformat(str(holiday)))
        except ValueError:
            raise ValueError(f"holidays: {holiday!r} is not a date like 2026-12-25") from None
    return Hours(tz, {d: sorted(r, key=lambda span: span[0]) for d, r in ranges.items()}, frozenset(closed))


def next_open(hours: Hours, now: datetime) -> datetime | None:
    """`now` if the team is open then, else the next moment it opens (in UTC); None if not within a year."""
    if hours.open_at(now):
        return now
    local = now.astimezone(hours.zone)
    for offset in range(LOOK_AHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        if day in hours.holidays:
            continue
        for start, _end in hours.weekly.get(day.weekday(), ()):
            opening = datetime.combine(day, start, hours.zone)
            if opening > now:
                return opening.astimezone(UTC)
    return None


@lru_cache(maxsize=256)
def _parsed(zone: str, weekly: tuple[tuple[str, tuple[str, ...]], ...], holidays: tuple[str, ...]) -> Hours:
    """parse_hours of a team as stored (teams were checked when the seed was loaded), once per distinct value."""
    return parse_hours(zone, dict(weekly), holidays)


def opening(teams: Sequence[Team], team: str | None, now: datetime) -> tuple[datetime | None, ZoneInfo | None]:
    """When people are there for a conversation of `team` (or of any team, when it names none): `now` when open
    now, the next opening, or None when there is none within a year; with the zone to say it in. No team
    with hours at all: open now."""
    chosen = [t for t in teams if t.name == team] if team else list(teams)
    if not chosen:
        return now, None
    times = []
    for t in chosen:
        hours = _parsed(t.timezone, tuple((day, tuple(spans)) for day, spans in t.hours.items()), tuple(t.holidays))
        times.append((next_open(hours, now), hours.zone))
    known = [(at, zone) for at, zone in times if at is not None]
    return min(known, key=lambda pair: pair[0]) if known else (None, None)


def spoken(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'at 08:00 today', 'at 08:00 tomorrow' or 'at 08:00 on Monday 30 November', with the zone's city."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    day = (
        "today"
        if local.date() == today
        else "tomorrow"
        if local.date() == today + timedelta(days=1)
        else f"on {local:%A} {local.day} {local:%B}"
    )
    city = str(zone.key).rsplit("/", 1)[-1].replace("_", " ")
    return f"at {local:%H:%M} {day} ({city} time)"
