"""Apologies the bot records (the agents' ledger) and what supervisors watch: GET /api/agent/overview."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from handoff import models
from handoff.sweeper import sweep

pytestmark = pytest.mark.asyncio

INCIDENT = "INC-2041"  # the demo seed's open incident (the Lisbon fibre cut)
SAME = "We're sorry for any inconvenience. Our engineers are working hard to resolve the issue."


async def apologise(hub: Any, sender: str, text: str, incident_id: str | None = INCIDENT) -> Any:
    body = {"problem": "internet:isn't working", "text": text, "incident_id": incident_id}
    return await hub.client.post(f"/api/bot/conversations/{sender}/apologies", json=body, headers=hub.bot_headers)


async def overview(hub: Any, username: str = "ben") -> Any:
    response = await hub.client.get("/api/agent/overview", headers=await hub.login(username))
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_bots_apologies_are_recorded_and_listed_in_the_agents_ledger(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    recorded = await apologise(hub, sender, "Your internet has been down since 8:00; that's the Lisbon fibre cut.")
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["incident_id"] == INCIDENT and recorded.json()["problem"] == "internet:isn't working"
    packet = (await hub.client.get(f"/api/agent/conversations/{conversation_id}", headers=await hub.login())).json()
    [said] = packet["ledger"]["apologies"]
    assert said["text"].startswith("Your internet has been down") and said["problem"] == "internet:isn't working"


async def test_an_apology_is_refused_for_an_unknown_incident_or_sender_and_without_the_service_token(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down")
    assert (await apologise(hub, sender, "Sorry.", incident_id="INC-0000")).status_code == 400
    assert (await apologise(hub, str(uuid.uuid4()), "Sorry.")).status_code == 404
    assert (await apologise(hub, sender, "")).status_code == 400
    body = {"problem": "internet", "text": "Sorry."}
    assert (await hub.client.post(f"/api/bot/conversations/{sender}/apologies", json=body)).status_code == 401
    assert (await hub.repository.counts())["apologies"] == 0


async def test_supervisors_see_live_counts_and_agents_may_not(hub: Any) -> None:
    await hub.say(str(uuid.uuid4()), "hello")  # with the bot
    _, waiting = await hub.queued_conversation()
    _, helped = await hub.queued_conversation()
    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{helped}/claim", headers=ana)
    await hub.client.post(f"/api/agent/conversations/{helped}/messages", headers=ana, json={"text": "Hi?"})
    later = models.utcnow() + timedelta(seconds=hub.settings.silent_after_seconds + 1)
    await sweep(hub.core, later)  # the customer never answered Ana: unresolved-silent
    assert (await overview(hub))["counts"] == {"bot": 1, "queued": 1, "agent": 1, "closed": 0, "silent": 1}
    assert (await hub.client.get("/api/agent/overview", headers=ana)).status_code == 403
    assert waiting != helped


async def test_the_frustration_trend_is_per_hour_from_the_escalations(hub: Any) -> None:
    for score in (0.9, 0.5):
        sender = str(uuid.uuid4())
        await hub.say(sender, "my internet is down")
        trajectory = {"trend": "rising", "level": "high", "score": score, "causes": []}
        assert (await hub.escalate(sender, trajectory=trajectory)).status_code == 200
    trend = (await overview(hub))["frustration"]
    hours = [h["hour"] for h in trend]
    assert len(trend) == 12 and hours == sorted(hours)
    busy = [h for h in trend if h["escalations"]]  # the current hour (two, if the clock struck between them)
    assert sum(h["escalations"] for h in busy) == 2 and busy[-1] == trend[-1]
    assert sum(h["escalations"] * h["mean_score"] for h in busy) / 2 == pytest.approx(0.7)
    assert all(h["mean_score"] is None for h in trend if not h["escalations"])


async def test_the_open_incidents_apology_sameness_shows_one_apology_sent_to_everyone(hub: Any) -> None:
    before = (await overview(hub))["apologies"]
    assert before["incident_id"] == INCIDENT and before["title"]
    assert (before["apologies"], before["mean_similarity"], before["duplicate_share"]) == (0, None, None)
    for _ in range(3):
        sender = str(uuid.uuid4())
        await hub.say(sender, "my internet is down")
        await apologise(hub, sender, SAME)
    same = (await overview(hub))["apologies"]
    assert (same["apologies"], same["mean_similarity"], same["duplicate_share"]) == (3, 1.0, 1.0)

    for text in ("Your fibre line has been down since 8:00 because of the Lisbon cable cut.", "TV and internet both?"):
        sender = str(uuid.uuid4())
        await hub.say(sender, "my internet is down")
        await apologise(hub, sender, text)
    await apologise(hub, sender, "Not the incident's.", incident_id=None)  # not counted for the incident
    mixed = (await overview(hub))["apologies"]
    assert mixed["apologies"] == 5 and mixed["mean_similarity"] < 0.5 and mixed["duplicate_share"] == 0.6
