"""Incidents opened and written by people: the agent API, over real HTTP into the real hub and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handoff.app import prepare_store

OUTAGE = {
    "title": "Mobile data outage in Porto",
    "severity": "critical",
    "services": ["mobile"],
    "regions": ["Porto"],
    "facts": {"what_happened": "A mast controller failed at 09:10 and mobile data dropped across Porto."},
}


async def open_outage(hub: Any, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = await hub.client.post("/api/agent/incidents", json={**OUTAGE, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    incident: dict[str, Any] = response.json()["incident"]
    return incident


async def patch(hub: Any, headers: dict[str, str], incident_id: str, body: dict[str, Any]) -> Any:
    return await hub.client.patch(f"/api/agent/incidents/{incident_id}", json=body, headers=headers)


async def test_an_agent_opens_an_incident_that_the_bot_then_speaks_from(hub: Any) -> None:
    headers = await hub.login()
    audit = (await hub.repository.counts())["audit"]
    incident = await open_outage(hub, headers)
    assert incident["id"].startswith("INC-") and incident["status"] == "investigating"
    assert abs(datetime.fromisoformat(incident["started_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert incident["facts"] == {**dict.fromkeys(["what_we_are_doing", "next_update", "eta"], ""), **OUTAGE["facts"]}
    assert (await hub.repository.counts())["audit"] == audit + 1
    listed = (await hub.client.get("/api/agent/incidents", headers=headers)).json()["incidents"]
    assert incident["id"] in {i["id"] for i in listed}
    # the most severe open incident is what the bot tells a customer it knows nothing else about
    context = (await hub.client.get("/api/bot/conversations/new-one/context", headers=hub.bot_headers)).json()
    assert context["incident"]["id"] == incident["id"]


async def test_facts_are_updated_field_by_field_and_resolving_closes_it(hub: Any) -> None:
    headers = await hub.login()
    incident = await open_outage(hub, headers)
    response = await patch(hub, headers, incident["id"], {"status": "identified", "facts": {"eta": "by 18:00 today"}})
    assert response.status_code == 200, response.text
    updated = response.json()["incident"]
    assert updated["status"] == "identified" and updated["facts"]["eta"] == "by 18:00 today"
    assert updated["facts"]["what_happened"] == OUTAGE["facts"]["what_happened"]  # left out: unchanged

    resolved = (await patch(hub, headers, incident["id"], {"status": "resolved"})).json()["incident"]
    assert resolved["resolved_at"] is not None
    context = (await hub.client.get("/api/bot/conversations/new-one/context", headers=hub.bot_headers)).json()
    assert context["incident"] is None or context["incident"]["id"] != incident["id"]

    reopened = (await patch(hub, headers, incident["id"], {"status": "monitoring"})).json()["incident"]
    assert reopened["resolved_at"] is None and reopened["status"] == "monitoring"


async def test_a_restart_does_not_undo_what_people_wrote(hub: Any) -> None:
    headers = await hub.login()
    response = await patch(hub, headers, "INC-2041", {"facts": {"next_update": "at 17:30 today"}})
    assert response.status_code == 200
    await prepare_store(hub.repository, hub.settings)  # what every start does with the seed
    seeded = {i.id: i for i in await hub.repository.incidents()}["INC-2041"]
    assert seeded.facts.next_update == "at 17:30 today"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**OUTAGE, "severity": "apocalyptic"}, "severity"),
        ({**OUTAGE, "status": "resolved"}, "status"),  # an incident opens unresolved
        ({**OUTAGE, "title": "   "}, "title"),
        ({**OUTAGE, "facts": {"eta": "x" * 1001}}, "eta"),
        ({key: value for key, value in OUTAGE.items() if key != "title"}, "title"),
    ],
)
async def test_bad_incidents_are_refused_naming_the_field(hub: Any, body: dict[str, Any], field: str) -> None:
    headers = await hub.login()
    response = await hub.client.post("/api/agent/incidents", json=body, headers=headers)
    assert response.status_code == 400 and field in response.text


async def test_updates_are_checked_too(hub: Any) -> None:
    headers = await hub.login()
    assert (await patch(hub, headers, "INC-2041", {"status": "fixed"})).status_code == 400
    assert (await patch(hub, headers, "INC-404", {"status": "resolved"})).status_code == 404
    assert (await patch(hub, {}, "INC-2041", {"status": "resolved"})).status_code == 401
    assert (await hub.client.post("/api/agent/incidents", json=OUTAGE)).status_code == 401
    assert {i.id: i.status for i in await hub.repository.incidents()}["INC-2041"] != "resolved"
