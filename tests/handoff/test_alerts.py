"""Prometheus Alertmanager's webhook, over real HTTP into the real hub and database.

The payloads in tests/handoff/data are Alertmanager's version-4 format byte for byte (compact, sorted keys,
`&` escaped, firing alerts with endsAt 0001-01-01T00:00:00Z; see handoff/alertmanager.py).
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
FIRING = (DATA / "alertmanager-firing.json").read_bytes()
RESOLVED = (DATA / "alertmanager-resolved.json").read_bytes()
URL = "/api/alerts/alertmanager"


def headers(hub: Any) -> dict[str, str]:
    """Alertmanager's `http_config.authorization` with the hub's service token."""
    return {"Authorization": f"Bearer {hub.settings.service_token}", "Content-Type": "application/json"}


async def deliver(hub: Any, body: bytes | dict[str, Any]) -> dict[str, Any]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await hub.client.post(URL, content=content, headers=headers(hub))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def partly_resolved() -> dict[str, Any]:
    """The group after its first alert resolved: group still firing, one alert resolved (as Alertmanager sends)."""
    payload = json.loads(FIRING)
    payload["alerts"][0] = json.loads(RESOLVED)["alerts"][0]
    return dict(payload)


async def test_a_firing_group_opens_one_incident_without_inventing_facts(hub: Any) -> None:
    opened = await deliver(hub, FIRING)
    incident = opened["incident"]
    assert opened["changed"] is True
    assert incident["id"].startswith("AM-") and incident["status"] == "investigating"
    assert (incident["severity"], incident["services"], incident["regions"]) == ("critical", ["internet"], ["Lisbon"])
    assert incident["title"] == "Internet disruption in Lisbon"
    assert incident["started_at"].startswith("2026-11-29T07:41:15.482913")  # the earliest alert's start
    assert incident["resolved_at"] is None
    assert set(incident["facts"].values()) == {""}  # people write the facts; the bot says it has none yet
    assert [i.id for i in await alert_incidents(hub)] == [incident["id"]]


async def test_the_same_delivery_twice_changes_nothing(hub: Any) -> None:
    first = await deliver(hub, FIRING)
    counts = await hub.repository.counts()
    again = await deliver(hub, FIRING)
    assert again == {**first, "changed": False}
    assert await hub.repository.counts() == counts  # no incident, alert or audit row more


async def test_it_resolves_when_every_alert_has_resolved_and_late_copies_change_nothing(hub: Any) -> None:
    incident_id = (await deliver(hub, FIRING))["incident"]["id"]

    half = await deliver(hub, partly_resolved())
    assert half["changed"] is True and half["incident"]["resolved_at"] is None

    resolved = await deliver(hub, RESOLVED)
    assert resolved["changed"] is True
    assert resolved["incident"]["id"] == incident_id and resolved["incident"]["status"] == "resolved"
    assert resolved["incident"]["resolved_at"].startswith("2026-11-29T10:13:15.482913")  # the last alert's end

    counts = await hub.repository.counts()
    for late in (RESOLVED, FIRING, partly_resolved()):  # a repeat, and copies delayed in a cluster
        assert await deliver(hub, late) == {**resolved, "changed": False}
    assert await hub.repository.counts() == counts


async def test_an_alert_missing_from_a_message_is_not_resolved(hub: Any) -> None:
    await deliver(hub, FIRING)
    truncated = json.loads(FIRING)
    truncated["alerts"] = truncated["alerts"][:1]
    truncated["truncatedAlerts"] = 1
    assert (await deliver(hub, truncated))["changed"] is False
    only_first_resolved = json.loads(RESOLVED)
    only_first_resolved["alerts"] = only_first_resolved["alerts"][:1]
    result = await deliver(hub, only_first_resolved)
    assert result["changed"] is True and result["incident"]["resolved_at"] is None


async def test_a_new_firing_episode_after_the_resolve_opens_a_new_incident(hub: Any) -> None:
    await deliver(hub, FIRING)
    first = (await deliver(hub, RESOLVED))["incident"]
    refired = json.loads(FIRING)
    for alert in refired["alerts"]:
        alert["startsAt"] = "2026-11-29T11:02:00.000000001Z"
    second = (await deliver(hub, refired))["incident"]
    assert second["id"] != first["id"] and second["resolved_at"] is None
    assert {i.id: i.status for i in await hub.repository.incidents()}[first["id"]] == "resolved"


async def test_severity_is_raised_by_a_critical_alert_and_never_lowered(hub: Any) -> None:
    warning = json.loads(FIRING)
    warning["alerts"] = warning["alerts"][:1]
    warning["alerts"][0]["labels"]["severity"] = "warning"
    assert (await deliver(hub, warning))["incident"]["severity"] == "major"
    raised = await deliver(hub, FIRING)  # the second alert of the group, critical
    assert raised["changed"] is True and raised["incident"]["severity"] == "critical"
    later = json.loads(FIRING)
    later["alerts"] = [{**later["alerts"][0], "fingerprint": "0123456789abcdef", "startsAt": "2026-11-29T08:00:00Z"}]
    later["alerts"][0]["labels"] = {**later["alerts"][0]["labels"], "severity": "info", "exchange": "lis-belem"}
    lowered = await deliver(hub, later)
    assert lowered["changed"] is True and lowered["incident"]["severity"] == "critical"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.update(alerts=[]), "alerts"),
        (lambda p: p["alerts"][0].update(fingerprint="not-a-fingerprint"), "fingerprint"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "startsAt"),
        (lambda p: p["alerts"][0].update(startsAt="2026-11-29T07:41:15"), "startsAt"),  # no offset
        (lambda p: p.pop("groupKey"), "groupKey"),
    ],
)
async def test_malformed_payloads_are_refused_with_the_field_named(hub: Any, change: Any, message: str) -> None:
    payload = copy.deepcopy(json.loads(FIRING))
    change(payload)
    response = await hub.client.post(URL, json=payload, headers=headers(hub))
    assert response.status_code == 400 and message in response.text
    assert [i for i in await hub.repository.incidents() if i.id.startswith("AM-")] == []


async def test_it_needs_the_service_token_as_a_bearer_token(hub: Any) -> None:
    token = hub.settings.service_token
    for wrong in ({}, {"Authorization": "Bearer wrong"}, {"X-Candor-Service-Token": token}, {"Authorization": token}):
        response = await hub.client.post(URL, content=FIRING, headers=wrong)
        assert response.status_code == 401
    assert [i for i in await hub.repository.incidents() if i.id.startswith("AM-")] == []


async def test_with_a_token_of_its_own_alertmanager_needs_it_and_the_service_token_is_refused(
    start_hub: Any, make_settings: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_ALERTMANAGER_TOKEN="alertmanager-token-0123456789"))
    service = await hub.client.post(URL, content=FIRING, headers=headers(hub))
    assert service.status_code == 401 and "CANDOR_ALERTMANAGER_TOKEN" in service.json()["error"]
    assert [i for i in await hub.repository.incidents() if i.id.startswith("AM-")] == []
    own = {"Authorization": "Bearer alertmanager-token-0123456789", "Content-Type": "application/json"}
    response = await hub.client.post(URL, content=FIRING, headers=own)
    assert response.status_code == 200 and response.json()["changed"] is True


async def test_two_copies_at_once_change_things_once(hub: Any) -> None:
    first, second = await asyncio.gather(deliver(hub, FIRING), deliver(hub, FIRING))
    assert sorted([first["changed"], second["changed"]]) == [False, True]
    assert len(await alert_incidents(hub)) == 1
    audit = (await hub.repository.counts())["audit"]
    first, second = await asyncio.gather(deliver(hub, RESOLVED), deliver(hub, RESOLVED))
    assert sorted([first["changed"], second["changed"]]) == [False, True]
    assert (await hub.repository.counts())["audit"] == audit + 1
    assert [i.status for i in await alert_incidents(hub)] == ["resolved"]


async def test_two_halves_of_a_group_at_once_open_one_incident(hub: Any) -> None:
    halves = [json.loads(FIRING), json.loads(FIRING)]
    halves[0]["alerts"], halves[1]["alerts"] = halves[0]["alerts"][:1], halves[1]["alerts"][1:]
    await asyncio.gather(*(deliver(hub, half) for half in halves))
    assert len(await alert_incidents(hub)) == 1
    assert (await deliver(hub, RESOLVED))["incident"]["status"] == "resolved"


async def test_new_alerts_for_an_open_incident_arriving_at_once_all_widen_it(hub: Any) -> None:
    await deliver(hub, FIRING)
    extra = []
    for index, (service, region) in enumerate([("tv", "Porto"), ("mobile", "Faro"), ("landline", "Braga")]):
        payload = json.loads(FIRING)
        alert = {**payload["alerts"][0], "fingerprint": f"{index:016x}", "startsAt": "2026-11-29T08:00:00Z"}
        alert["labels"] = {**alert["labels"], "service": service, "region": region, "exchange": f"x-{index}"}
        payload["alerts"] = [alert]
        extra.append(payload)
    await asyncio.gather(*(deliver(hub, payload) for payload in extra))  # without a lock, widenings are lost
    [incident] = await alert_incidents(hub)
    assert sorted(incident.services) == ["internet", "landline", "mobile", "tv"]
    assert sorted(incident.regions) == ["Braga", "Faro", "Lisbon", "Porto"]


async def test_a_firing_copy_arriving_after_the_resolve_opens_nothing(hub: Any) -> None:
    assert await deliver(hub, RESOLVED) == {"incident": None, "changed": True}  # kept: the episodes are over
    assert await deliver(hub, FIRING) == {"incident": None, "changed": False}
    assert await alert_incidents(hub) == []


async def test_a_resolve_arriving_under_another_group_key_still_resolves_the_incident(hub: Any) -> None:
    incident_id = (await deliver(hub, FIRING))["incident"]["id"]
    regrouped = json.loads(RESOLVED)
    regrouped["groupKey"] = '{}/{team="network"}:{alertname="FibreAccessDown"}'  # after a group_by change
    await deliver(hub, regrouped)
    assert {i.id: i.status for i in await alert_incidents(hub)} == {incident_id: "resolved"}


async def test_a_truncated_resolve_does_not_resolve_the_incident(hub: Any) -> None:
    await deliver(hub, FIRING)
    truncated = json.loads(RESOLVED)
    truncated["truncatedAlerts"] = 3  # alerts of the group that Alertmanager did not list may still fire
    assert (await deliver(hub, truncated))["incident"]["resolved_at"] is None
    assert (await deliver(hub, RESOLVED))["incident"]["resolved_at"] is not None


async def test_the_same_instant_with_another_offset_is_the_same_alert(hub: Any) -> None:
    first = await deliver(hub, FIRING)
    shifted = json.loads(FIRING)
    shifted["alerts"][0]["startsAt"] = "2026-11-29T09:41:15.482913204+02:00"
    shifted["alerts"][1]["startsAt"] = "2026-11-29T09:41:45.482913204+02:00"
    assert await deliver(hub, shifted) == {**first, "changed": False}


async def alert_incidents(hub: Any) -> list[Any]:
    return [i for i in await hub.repository.incidents() if i.id.startswith("AM-")]
