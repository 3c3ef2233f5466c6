"""Incidents opened and written by people: the agent API, over real HTTP into the real hub and database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handoff.app import prepare_store

DATA = Path(__file__).parent / "data"

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
    before, audit = await hub.repository.incidents(), (await hub.repository.counts())["audit"]
    refused = {
        "fixed": ({"status": "fixed"}, 400, "status"),
        "empty": ({}, 400, "nothing to change"),
        "empty facts": ({"facts": {}}, 400, "nothing to change"),
        "null title": ({"title": None}, 400, "title cannot be null"),
        "null fact": ({"facts": {"eta": None}}, 400, "eta cannot be null"),
    }
    for body, status, message in refused.values():
        response = await patch(hub, headers, "INC-2041", body)
        assert response.status_code == status and message in response.text, response.text
    assert (await patch(hub, headers, "INC-404", {"status": "resolved"})).status_code == 404
    assert (await patch(hub, {}, "INC-2041", {"status": "resolved"})).status_code == 401
    assert (await hub.client.post("/api/agent/incidents", json=OUTAGE)).status_code == 401
    assert await hub.repository.incidents() == before
    assert (await hub.repository.counts())["audit"] == audit


async def test_an_empty_fact_clears_it_and_two_edits_at_once_both_stay(hub: Any) -> None:
    headers = await hub.login()
    incident = await open_outage(hub, headers)
    cleared = (await patch(hub, headers, incident["id"], {"facts": {"what_happened": ""}})).json()["incident"]
    assert cleared["facts"]["what_happened"] == ""
    edits = [{"facts": {"eta": "by 18:00 today"}}, {"facts": {"next_update": "at 16:00 today"}}]
    responses = await asyncio.gather(*(patch(hub, headers, incident["id"], edit) for edit in edits))
    assert [r.status_code for r in responses] == [200, 200]
    facts = {i.id: i.facts for i in await hub.repository.incidents()}[incident["id"]]
    assert (facts.eta, facts.next_update) == ("by 18:00 today", "at 16:00 today")


async def test_an_alert_incident_cannot_reopen_beside_a_newer_one_of_its_group(hub: Any) -> None:
    headers = await hub.login()
    alerts = {"Authorization": f"Bearer {hub.settings.service_token}", "Content-Type": "application/json"}
    firing = (DATA / "alertmanager-firing.json").read_bytes()
    first = (await hub.client.post("/api/alerts/alertmanager", content=firing, headers=alerts)).json()["incident"]
    assert (await patch(hub, headers, first["id"], {"status": "resolved"})).status_code == 200
    another = json.loads(firing)
    another["alerts"] = [
        {**another["alerts"][0], "fingerprint": "0123456789abcdef", "startsAt": "2026-11-29T12:00:00Z"}
    ]
    second = (await hub.client.post("/api/alerts/alertmanager", json=another, headers=alerts)).json()["incident"]
    assert second["id"] != first["id"] and second["resolved_at"] is None
    response = await patch(hub, headers, first["id"], {"status": "monitoring"})
    assert response.status_code == 409 and "another open incident" in response.text
