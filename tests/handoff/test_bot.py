"""The action server's API: context, escalation, compensation records; all behind the service token."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from handoff.flows import LEAVE_A_MESSAGE

OFFER = {
    "customer_id": "C-1001",
    "incident_id": "INC-2041",
    "rule": "outage-4h-plus",
    "kind": "bill_credit",
    "amount": "5.00",
    "agent_max_amount": "15.00",
    "currency": "EUR",
    "reason": "Fibre internet outage in Lisbon: major incident, 5.0 h affected",
}


async def test_context_has_customer_matching_incident_and_no_offer_yet(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    response = await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)
    assert response.status_code == 200
    context = response.json()
    assert context["state"] == "bot" and isinstance(context["conversation_id"], int)
    assert context["customer"]["id"] == "C-1001" and context["customer"]["monthly_fee"] == "39.90"
    assert context["customer"]["services"] == ["internet", "tv"]
    assert context["incident"]["id"] == "INC-2041" and context["incident"]["resolved_at"] is None
    assert set(context["incident"]["facts"]) == {"what_happened", "what_we_are_doing", "next_update", "eta"}
    assert context["compensation"] is None and context["human_helped"] is False


async def test_context_of_an_unknown_sender_is_the_most_severe_open_incident(hub: Any) -> None:
    response = await hub.client.get("/api/bot/conversations/never-seen/context", headers=hub.bot_headers)
    assert response.status_code == 200
    assert response.json() == {
        "conversation_id": None,
        "state": "bot",
        "customer": None,
        "incident": response.json()["incident"],
        "compensation": None,
        "human_helped": False,
    }
    assert response.json()["incident"]["id"] == "INC-2041"


async def test_escalating_twice_answers_the_same_escalation(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    first = await hub.escalate(sender)
    second = await hub.escalate(sender, reason="frustration")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json() == {
        "escalation_id": first.json()["escalation_id"],
        "state": "queued",
        "position": 1,
        "expected_wait_minutes": 5,
        "agents_online": 0,
        "open_now": True,  # the demo seed's support team is always open
        "opens_at": None,
        "notice": "Nobody from the team is online at this moment. Your conversation stays in the queue, and a "
        f"person will reply here as soon as someone is available. {LEAVE_A_MESSAGE}",
    }
    conversation = await hub.repository.conversation_by_sender(sender)
    escalation = await hub.repository.open_escalation(conversation.id)
    # high frustration 30 + asked for a person 10 + C-1001 hit by the open Lisbon fibre outage 5
    assert (escalation.reason, escalation.priority, escalation.frustration_level) == (
        "customer_requested_human",
        45,
        "high",
    )
    assert (await hub.repository.counts())["escalations"] == 1


async def test_the_trajectory_is_stored_and_raises_the_priority_to_the_conversation_level(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    trajectory = {"trend": "sustained", "level": "medium", "score": 0.7, "causes": ["repeated_problem"]}
    calm = [{"score": 0.1, "level": "none", "text": "my internet is down"}]
    response = await hub.escalate(sender, frustration=calm, trajectory=trajectory)
    assert response.status_code == 200, response.text
    conversation = await hub.repository.conversation_by_sender(sender)
    escalation = await hub.repository.open_escalation(conversation.id)
    assert escalation.trajectory == trajectory
    # the conversation's medium level 20 + its sustained trend 5 + asked 10 + the Lisbon outage 5
    assert (escalation.priority, escalation.frustration_level) == (40, "none")


async def test_an_escalation_without_a_trajectory_stores_none(hub: Any) -> None:
    _, conversation_id = await hub.queued_conversation()
    escalation = await hub.repository.open_escalation(conversation_id)
    assert escalation.trajectory is None and escalation.priority == 45  # high 30, asked 10, outage 5


async def test_compensation_is_recorded_once_per_customer_and_incident(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    first = await hub.client.post("/api/bot/compensations", json={**OFFER, "sender": sender}, headers=hub.bot_headers)
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["amount"] == "5.00" and record["status"] == "offered" and record["conversation_id"] is not None
    assert (record["original_amount"], record["agent_max_amount"]) == ("5.00", "15.00")
    assert (record["decided_by"], record["decided_at"]) == (None, None)
    assert record["updated_at"] == record["created_at"] and record["rule"] == "outage-4h-plus"

    again = await hub.client.post(
        "/api/bot/compensations",
        json={**OFFER, "amount": 50, "agent_max_amount": 60, "rule": "other"},
        headers=hub.bot_headers,
    )
    assert again.status_code == 200 and again.json() == record
    assert (await hub.repository.counts())["compensations"] == 1
    context = (await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)).json()
    assert context["compensation"] == record


async def test_a_numeric_amount_and_pending_status(hub: Any) -> None:
    body = {**OFFER, "customer_id": "C-1002", "amount": 37.45, "agent_max_amount": 50, "status": "pending_approval"}
    response = await hub.client.post("/api/bot/compensations", json=body, headers=hub.bot_headers)
    assert response.status_code == 201 and response.json()["amount"] == "37.45"
    assert response.json()["status"] == "pending_approval" and response.json()["agent_max_amount"] == "50.00"


@pytest.mark.parametrize(
    ("change", "status", "word"),
    [
        ({"customer_id": "C-9999"}, 404, "C-9999"),
        ({"incident_id": "INC-0"}, 404, "INC-0"),
        ({"amount": "five"}, 400, "amount"),
        ({"amount": "-1"}, 400, "amount"),
        ({"amount": "1.234"}, 400, "amount"),
        ({"status": "paid"}, 400, "status"),
        ({"currency": "euro"}, 400, "currency"),
        ({"rule": None}, 400, "rule"),
        ({"agent_max_amount": None}, 400, "agent_max_amount"),
        ({"agent_max_amount": "4.99"}, 400, "agent_max_amount (4.99) must be at least amount (5.00)"),
        ({"agent_max_amount": "100000.01"}, 400, "agent_max_amount"),
        ({"agent_max_amount": "1.001"}, 400, "agent_max_amount"),
    ],
)
async def test_bad_compensations_are_refused(hub: Any, change: dict[str, Any], status: int, word: str) -> None:
    response = await hub.client.post("/api/bot/compensations", json={**OFFER, **change}, headers=hub.bot_headers)
    assert response.status_code == status and word in response.json()["error"]
    assert (await hub.repository.counts())["compensations"] == 0


@pytest.mark.parametrize("headers", [{}, {"X-Candor-Service-Token": "wrong-token-wrong-token"}])
async def test_the_service_token_is_required(hub: Any, headers: dict[str, str]) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    before = await hub.repository.counts()
    for method, path, body in [
        ("GET", f"/api/bot/conversations/{sender}/context", None),
        ("POST", f"/api/bot/conversations/{sender}/escalate", {"reason": "frustration"}),
        ("POST", "/api/bot/compensations", OFFER),
    ]:
        response = await hub.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401 and "X-Candor-Service-Token" in response.json()["error"]
    assert await hub.repository.counts() == before


async def test_escalating_an_unknown_conversation_is_404(hub: Any) -> None:
    response = await hub.escalate("nobody-here")
    assert response.status_code == 404 and "nobody-here" in response.json()["error"]
    assert (await hub.repository.counts())["escalations"] == 0


async def test_bad_escalation_bodies(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    for body, word in [
        ({"summary": "no reason"}, "reason"),
        ({"reason": "x", "frustration": [{"score": 2, "level": "high"}]}, "score"),
        ({"reason": "x", "frustration": [{"score": 0.5, "level": "furious"}]}, "level"),
        ({"reason": 42}, "reason"),
        ({"reason": "x", "trajectory": {"trend": "angry", "level": "high", "score": 0.9}}, "trend"),
        ({"reason": "x", "trajectory": {"trend": "rising", "level": "high", "score": 1.5}}, "score"),
        ({"reason": "x", "trajectory": {"trend": "rising", "level": "high", "score": 0.9, "causes": "x"}}, "causes"),
    ]:
        response = await hub.client.post(
            f"/api/bot/conversations/{sender}/escalate", json=body, headers=hub.bot_headers
        )
        assert response.status_code == 400 and word in response.json()["error"], response.text
    assert (await hub.repository.conversation_by_sender(sender)).state == "bot"
