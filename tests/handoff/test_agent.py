"""The agent side: login, queue, claim (one winner), talk, hand back, resolve."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from test_bot import OFFER


async def test_login_good_and_bad(hub: Any) -> None:
    good = await hub.client.post("/api/agent/login", json={"username": "ana", "password": "candor-demo-ana"})
    assert good.status_code == 200
    assert good.json()["agent"] == {
        "id": good.json()["agent"]["id"],
        "username": "ana",
        "display_name": "Ana",
        "role": "agent",
    }
    assert len(good.json()["token"]) >= 32

    for body in [{"username": "ana", "password": "wrong"}, {"username": "nobody", "password": "candor-demo-ana"}]:
        bad = await hub.client.post("/api/agent/login", json=body)
        assert bad.status_code == 401 and bad.json() == {"error": "wrong username or password"}


async def test_agent_routes_need_a_live_token(hub: Any) -> None:
    assert (await hub.client.get("/api/agent/queue")).status_code == 401
    assert (await hub.client.get("/api/agent/queue", headers={"Authorization": "Bearer nope"})).status_code == 401
    headers = await hub.login("ana")
    assert (await hub.client.get("/api/agent/queue", headers=headers)).status_code == 200
    assert (await hub.client.post("/api/agent/logout", headers=headers)).status_code == 200
    response = await hub.client.get("/api/agent/queue", headers=headers)
    assert response.status_code == 401 and "log in" in response.json()["error"]


async def test_queue_lists_waiting_conversations_most_urgent_first(hub: Any) -> None:
    calm = str(uuid.uuid4())
    await hub.say(calm, "my tv has no signal")
    await hub.escalate(calm, frustration=[{"score": 0.1, "level": "low", "text": "my tv has no signal"}])
    first_high, _ = await hub.queued_conversation()  # its trajectory peaks at "high"
    second_high = str(uuid.uuid4())
    await hub.say(second_high, "THIS IS THE THIRD TIME", customer_id="C-1003")
    await hub.escalate(second_high, frustration=[{"score": 0.95, "level": "high", "text": "x"}], reason="frustration")
    await hub.say(str(uuid.uuid4()), "just the bot")  # not escalated: not listed

    queue = (await hub.client.get("/api/agent/queue", headers=await hub.login("ana"))).json()
    assert [q["sender"] for q in queue["queued"]] == [first_high, second_high, calm]
    assert queue["mine"] == []
    item = queue["queued"][1]
    assert item["customer"]["id"] == "C-1003" and item["reason"] == "frustration"
    # high 30; C-1003 (mobile, Porto) is hit by no open incident and has no tier points; not a minute waited
    assert (item["priority"], item["frustration_level"], item["state"]) == (30, "high", "queued")
    assert isinstance(item["waiting_seconds"], int) and item["summary"]
    assert queue["queued"][2]["priority"] == 25  # low 10, asked 10, C-1001 in the Lisbon outage 5


async def test_two_agents_claiming_at_once_exactly_one_wins(hub: Any, start_hub: Any) -> None:
    # A second hub process-alike on the same database: the database decides, not an in-process lock.
    other = await start_hub(hub.settings.__class__(**{**hub.settings.__dict__, "port": hub.settings.port + 1}))
    ana, ben = await hub.login("ana"), await other.login("ben")
    for _ in range(5):
        _, conversation_id = await hub.queued_conversation()
        path = f"/api/agent/conversations/{conversation_id}/claim"
        first, second = await asyncio.gather(hub.client.post(path, headers=ana), other.client.post(path, headers=ben))
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        loser = first if first.status_code == 409 else second
        assert "not waiting in the queue" in loser.json()["error"]
        winner = "Ana" if first.status_code == 200 else "Ben"
        conversation = await hub.repository.conversation(conversation_id)
        assert conversation.state == "agent" and conversation.agent.display_name == winner
        actions = [a["action"] for a in await hub.repository.audit_trail(conversation_id)]
        assert actions.count("claimed") == 1


async def test_claim_errors(hub: Any) -> None:
    headers = await hub.login("ana")
    assert (await hub.client.post("/api/agent/conversations/999/claim", headers=headers)).status_code == 404
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    conversation = await hub.repository.conversation_by_sender(sender)
    response = await hub.client.post(f"/api/agent/conversations/{conversation.id}/claim", headers=headers)
    assert response.status_code == 409 and "state bot" in response.json()["error"]


async def test_agent_message_reaches_the_customer_once_through_the_webhook(hub: Any, fake_rasa: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    assert (
        await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    ).status_code == 200
    sent = await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", headers=headers, json={"text": "Hi, Ana here."}
    )
    assert sent.status_code == 201 and sent.json()["role"] == "agent"

    calls = len(fake_rasa.calls)
    answer = await hub.say(sender, "ok thanks")
    assert answer == [
        {
            "recipient_id": sender,
            "text": "Hi, Ana here.",
            "custom": {"from": "agent", "agent": "Ana"},
            "id": sent.json()["id"],
        }
    ]
    assert await hub.say(sender, "still there?") == []  # delivered once; with an agent there is no queue notice
    assert len(fake_rasa.calls) == calls  # the bot heard none of it

    # The widget's poll shows it too (it keeps its own cursor), and the agent sees the customer's words.
    poll = (await hub.poll(sender)).json()
    assert [m["text"] for m in poll["messages"] if m["custom"]["from"] == "agent"] == ["Hi, Ana here."]
    transcript = (await hub.client.get(f"/api/agent/conversations/{conversation_id}/messages", headers=headers)).json()
    assert [m["text"] for m in transcript["messages"] if m["role"] == "customer"][-2:] == ["ok thanks", "still there?"]
    newer = (
        await hub.client.get(
            f"/api/agent/conversations/{conversation_id}/messages",
            headers=headers,
            params={"after": transcript["messages"][-1]["id"]},
        )
    ).json()
    assert newer["messages"] == []


async def test_agent_message_delivered_by_the_poll_is_not_sent_again_by_the_webhook(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", headers=headers, json={"text": "Hello"}
    )
    poll = (await hub.poll(sender)).json()
    assert "Hello" in [m.get("text") for m in poll["messages"]]
    assert await hub.say(sender, "hi") == []


async def test_only_the_assigned_agent_may_talk(hub: Any) -> None:
    _, conversation_id = await hub.queued_conversation()
    ana, ben = await hub.login("ana"), await hub.login("ben")
    path = f"/api/agent/conversations/{conversation_id}/messages"
    assert (await hub.client.post(path, headers=ana, json={"text": "too early"})).status_code == 409
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    response = await hub.client.post(path, headers=ben, json={"text": "not mine"})
    assert response.status_code == 409 and "not assigned to you" in response.json()["error"]
    for body in [{}, {"text": ""}, {"text": 5}, {"text": "x" * 4001}]:
        assert (await hub.client.post(path, headers=ana, json=body)).status_code == 400
    messages = await hub.repository.messages(conversation_id)
    assert [m.role for m in messages] == ["customer", "bot", "bot", "system"]  # nothing but the claim's notice
    assert messages[-1].text == "Ana from the team has this conversation now."  # the customer learns who has it


async def test_handoff_packet(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation("my internet is down since this morning")
    await hub.client.post(
        "/api/bot/compensations",
        headers=hub.bot_headers,
        json={**OFFER, "sender": sender},
    )
    headers = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    packet = (await hub.client.get(f"/api/agent/conversations/{conversation_id}", headers=headers)).json()
    assert packet["conversation"]["state"] == "agent" and packet["conversation"]["agent"]["username"] == "ana"
    assert packet["customer"]["name"] == "Marta Silva" and packet["incident"]["id"] == "INC-2041"
    assert packet["escalation"]["reason"] == "customer_requested_human"
    assert [f["level"] for f in packet["escalation"]["frustration"]] == ["low", "high"]
    assert packet["escalation"]["summary"].startswith("Marta")
    assert [(c["amount"], c["agent_max_amount"], c["status"]) for c in packet["compensations"]] == [
        ("5.00", "15.00", "offered")
    ]
    assert packet["messages"][0] == packet["messages"][0] | {
        "role": "customer",
        "text": "my internet is down since this morning",
    }
    assert (await hub.client.get("/api/agent/conversations/4242", headers=headers)).status_code == 404


async def test_the_packets_ledger_lists_the_apologies_made_and_the_offers_with_their_status(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down since this morning")
    said = {"text": "I'm sorry your internet isn't working since this morning.", "at": "2026-11-29T09:00:00+00:00"}
    assert (await hub.escalate(sender, apologies=[said])).status_code == 200
    offer = await hub.client.post("/api/bot/compensations", headers=hub.bot_headers, json={**OFFER, "sender": sender})
    answer = {"sender": sender, "answer": "declined"}
    declined = await hub.client.post(
        f"/api/bot/compensations/{offer.json()['id']}/answer", headers=hub.bot_headers, json=answer
    )
    assert declined.status_code == 200, declined.text
    conversation = await hub.repository.conversation_by_sender(sender)
    headers = await hub.login("ana")
    packet = (await hub.client.get(f"/api/agent/conversations/{conversation.id}", headers=headers)).json()
    assert packet["ledger"] == {
        "apologies": [{**said, "problem": None}],  # listed at the escalation (none recorded as they were sent)
        "offers": [
            {
                "id": offer.json()["id"],
                "incident_id": "INC-2041",
                "kind": OFFER["kind"],
                "amount": "5.00",
                "currency": "EUR",
                "status": "declined",
            }
        ],
    }


@pytest.mark.parametrize(
    "apologies",
    [[{"text": ""}], [{"text": "x" * 4001}], [{"at": "2026-11-29"}], [{"text": "sorry"}] * 51, "sorry"],
)
async def test_a_malformed_apology_ledger_is_refused(hub: Any, apologies: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hello")
    response = await hub.escalate(sender, apologies=apologies)
    assert response.status_code == 400 and "apologies" in response.json()["error"]


async def test_handoff_packet_carries_the_bots_frustration_trajectory(hub: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down AGAIN")
    trajectory = {"trend": "rising", "level": "high", "score": 0.9, "causes": ["rising_frustration", "bot_fallback"]}
    assert (await hub.escalate(sender, trajectory=trajectory)).status_code == 200
    conversation = await hub.repository.conversation_by_sender(sender)
    headers = await hub.login("ana")
    packet = (await hub.client.get(f"/api/agent/conversations/{conversation.id}", headers=headers)).json()
    assert packet["escalation"]["trajectory"] == trajectory


async def test_handback_returns_to_the_bot_and_tells_rasa_who_helped_and_their_note(hub: Any, fake_rasa: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    response = await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/handback", headers=headers, json={"note": "Same Lisbon outage."}
    )
    assert response.status_code == 200, response.text
    assert response.json()["conversation"]["state"] == "bot" and response.json()["rasa_notified"] is True
    assert fake_rasa.tracker_events() == [
        (
            f"/conversations/{sender}/tracker/events",
            [
                {"event": "slot", "name": "human_helped", "value": True},
                {"event": "slot", "name": "handback_agent", "value": "Ana"},
                {"event": "slot", "name": "handback_note", "value": "Same Lisbon outage."},
            ],
        )
    ]
    escalation = await hub.repository.latest_escalation(conversation_id)
    assert (escalation.state, escalation.note) == ("handed_back", "Same Lisbon outage.")

    answer = await hub.say(sender, "when will it be fixed?")
    assert fake_rasa.messages()[-1] == "when will it be fixed?"
    assert [m["custom"]["from"] for m in answer] == ["bot", "bot"]
    context = (await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)).json()
    assert context["human_helped"] is True
    assert (
        await hub.client.post(f"/api/agent/conversations/{conversation_id}/handback", headers=headers)
    ).status_code == 409


async def test_handback_happens_even_when_rasa_cannot_be_told(hub: Any, fake_rasa: Any) -> None:
    _, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    fake_rasa.mode = "error"
    response = await hub.client.post(f"/api/agent/conversations/{conversation_id}/handback", headers=headers)
    assert response.status_code == 200 and response.json()["rasa_notified"] is False
    assert (await hub.repository.conversation(conversation_id)).state == "bot"
    trail = await hub.repository.audit_trail(conversation_id)
    assert [a["action"] for a in trail][-2:] == ["handed_back", "rasa_notify_failed"]
    assert trail[-1]["actor"] == "agent:ana" and "500" in trail[-1]["detail"]["error"]


async def test_resolve_closes_the_conversation(hub: Any) -> None:
    _, conversation_id = await hub.queued_conversation()
    ana, ben = await hub.login("ana"), await hub.login("ben")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    path = f"/api/agent/conversations/{conversation_id}/resolve"
    for missing in ({}, {"reason": ""}, {"reason": "   "}):  # a resolve says why
        refused = await hub.client.post(path, headers=ana, json=missing)
        assert refused.status_code == 400 and "reason" in refused.text, refused.text
    assert (await hub.client.post(path, headers=ben, json={"reason": "x"})).status_code == 409
    response = await hub.client.post(path, headers=ana, json={"reason": "Explained the outage and the ETA."})
    assert response.status_code == 200 and response.json()["conversation"]["state"] == "closed"
    escalation = await hub.repository.latest_escalation(conversation_id)
    assert escalation.state == "resolved" and escalation.closed_at is not None
    assert (await hub.client.post(path, headers=ana, json={"reason": "again"})).status_code == 409
    trail = [(a["actor"], a["action"]) for a in await hub.repository.audit_trail(conversation_id)]
    assert trail[-3:] == [("bot", "escalated"), ("agent:ana", "claimed"), ("agent:ana", "resolved")]
    # The handle time now feeds the expected wait.
    assert len(await hub.repository.handle_times()) == 1


@pytest.mark.parametrize("path", ["/api/agent/customers/C-1002", "/api/agent/incidents"])
async def test_directory(hub: Any, path: str) -> None:
    headers = await hub.login("ana")
    response = await hub.client.get(path, headers=headers)
    assert response.status_code == 200
    assert (await hub.client.get("/api/agent/customers/C-0", headers=headers)).status_code == 404


async def test_an_id_beyond_the_databases_range_is_404_on_every_backend(hub: Any) -> None:
    headers = await hub.login("ana")
    for method, path in [
        ("GET", "/api/agent/conversations/2147483648"),
        ("POST", "/api/agent/conversations/9223372036854775807/claim"),
        ("POST", "/api/agent/compensations/2147483648/approve"),
    ]:
        response = await hub.client.request(method, path, headers=headers)
        assert response.status_code == 404 and "error" in response.json(), (path, response.text)
