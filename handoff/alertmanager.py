"""Prometheus Alertmanager's webhook (payload version 4): parsing, and what a delivery changes. Pure.

Alertmanager sends the whole alert group on every notification (first send, repeats, updates and
resolves), retries on 5xx and timeouts, and a cluster may deliver the same message twice or late. There
is no delivery id, so the hub keeps state, not messages:

- one firing episode of an alert is its label set's `fingerprint` plus its `startsAt` (a re-fire starts
  later); an episode is stored once, moves from firing to resolved once, and a firing message for an
  episode already resolved is stale and ignored;
- one alert group (`groupKey`) follows one open incident; the incident resolves when every episode it
  has seen is resolved and the message lists the whole group (`truncatedAlerts` 0), never because an
  alert is missing from a message (`max_alerts` may cut lists).

So the same delivery twice changes nothing. Facts for customers are not taken from the alerts'
annotations (engineers' text): a person writes them, and until then the bot says it has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from handoff.service import SEVERITY_RANK

__all__ = [
    "AlertmanagerAlert",
    "AlertmanagerPayload",
    "Episode",
    "changed_episodes",
    "incident_severity",
    "incident_title",
    "services_and_regions",
]

# Alertmanager's conventional severities -> the hub's (docs/hub-api.md); anything else counts as major.
SEVERITIES = {"critical": "critical", "error": "major", "warning": "major", "info": "minor"}


# A time with its offset (Alertmanager's RFC 3339), kept in UTC so that keys and answers do not depend on it.
UTCTime = Annotated[AwareDatetime, AfterValidator(lambda t: t.astimezone(UTC))]
# Go's zero time: Alertmanager's endsAt of an alert still firing.
ZERO_TIME_YEAR = 1


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: UTCTime
    endsAt: UTCTime  # "0001-01-01T00:00:00Z" while firing
    generatorURL: str = ""
    fingerprint: str = Field(pattern=r"^[0-9a-f]{16}$")


class AlertmanagerPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=1000)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[AlertmanagerAlert] = Field(min_length=1)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = 0


@dataclass(frozen=True)
class Episode:
    """One firing episode of one alert, as it is to be stored."""

    fingerprint: str
    starts_at: datetime
    status: str
    ends_at: datetime | None
    labels: Mapping[str, str]
    severity: str

    @property
    def key(self) -> tuple[str, datetime]:
        return self.fingerprint, self.starts_at


def changed_episodes(payload: AlertmanagerPayload, stored: Mapping[tuple[str, datetime], str]) -> list[Episode]:
    """The episodes this delivery adds or resolves, given the stored statuses by (fingerprint, starts_at).

    New episodes are stored as they come (firing, or already resolved); a stored firing episode that
    arrives resolved is resolved; everything else (a repeat, or a late firing message) changes nothing.
    """
    changes: dict[tuple[str, datetime], Episode] = {}
    for alert in payload.alerts:
        episode = Episode(
            fingerprint=alert.fingerprint,
            starts_at=alert.startsAt,
            status=alert.status,
            ends_at=alert.endsAt if alert.status == "resolved" and alert.endsAt.year > ZERO_TIME_YEAR else None,
            labels=dict(alert.labels),
            severity=SEVERITIES.get(alert.labels.get("severity", "").lower(), "major"),
        )
        before = stored.get(episode.key)
        if before is None or (before == "firing" and alert.status == "resolved"):
            changes[episode.key] = episode
    return list(changes.values())


def incident_severity(episodes: list[Episode], current: str | None = None) -> str:
    """The most severe of the episodes' severities and the incident's current one (never lowered)."""
    candidates = [e.severity for e in episodes] + ([current] if current in SEVERITY_RANK else [])
    return max(candidates, key=lambda s: SEVERITY_RANK[s]) if candidates else "major"


def incident_title(payload: AlertmanagerPayload) -> str:
    """A title customers may see: the group's `customer_title` annotation, else service and region."""
    given = payload.commonAnnotations.get("customer_title", "").strip()
    if given:
        return given[:300]
    labels = {**payload.commonLabels, **payload.groupLabels}
    service = labels.get("service", "").strip()
    region = labels.get("region", "").strip()
    what = f"{service.capitalize()} disruption" if service else "Service disruption"
    return f"{what} in {region}" if region else what


def services_and_regions(episodes: list[Episode]) -> tuple[list[str], list[str]]:
    """The `service` and `region` labels of the episodes, in first-seen order."""
    services = list(dict.fromkeys(e.labels["service"] for e in episodes if e.labels.get("service")))
    regions = list(dict.fromkeys(e.labels["region"] for e in episodes if e.labels.get("region")))
    return services, regions
