"""Customer → bot → human agent → back to the bot, through the real processes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from actions.wording import is_plain
from tests.e2e.conftest import AGENT, chat, customer_token


def say(hub: httpx.Client, sender: str, text: str, customer_id: str = "C-1001") -> list[dict[str, Any]]:
    """A message of this customer, signed in (a customer token from their site)."""
    metadata = {"customer_token": customer_token(customer_id)}
    response = hub.post("/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata})
    assert response.status_code == 200, response.text
    return list(response.json())


def texts(messages: list[dict[str, Any]], origin: str) -> list[str]:
    return [m["text"] for m in messages if (m.get("custom") or {}).get("from", "bot") == origin and m.get("text")]


def rasa_user_texts(rasa: httpx.Client, sender: str) -> list[str]:
    tracker = rasa.get(f"/conversations/{sender}/tracker").json()
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def test_customer_reaches_a_person_and_comes_back_to_the_bot(hub: httpx.Client, rasa: httpx.Client) -> None:
    sender = str(uuid.uuid4())

    # A specific apology: the customer's own problem and the open incident's facts.
    reply = " ".join(texts(say(hub, sender, "my internet has been down since this morning"), "bot"))
    assert "internet" in reply.lower() and "since this morning" in reply
    assert not is_plain(reply), reply  # an apology, once

    # Plain talk and a person, in that same turn.
    answer = say(hub, sender, "Stop sounding sorry and just talk to me like a person")
    handoff_text = " ".join(texts(answer, "bot"))
    assert "person" in handoff_text and is_plain(handoff_text), handoff_text

    # An agent logs in (so is online): the hub gives them the waiting conversation, and they see its context.
    login = hub.post("/api/agent/login", json={"username": AGENT["username"], "password": AGENT["password"]})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    mine = hub.get("/api/agent/queue", headers=auth).json()["mine"]
    item = next(q for q in mine if q["sender"] == sender)
    assert item["reason"] == "customer_requested_human" and item["state"] == "agent"
    conversation = item["conversation_id"]
    assert chat(hub, sender)["state"] == "agent"
    packet = hub.get(f"/api/agent/conversations/{conversation}", headers=auth).json()
    assert "since this morning" in packet["escalation"]["summary"]
    assert len(packet["escalation"]["frustration"]) == 2
    assert [m["text"] for m in packet["messages"] if m["role"] == "customer"][:2] == [
        "my internet has been down since this morning",
        "Stop sounding sorry and just talk to me like a person",
    ]

    # The agent's reply reaches the customer, once.
    sent = hub.post(
        f"/api/agent/conversations/{conversation}/messages",
        headers=auth,
        json={"text": "Hi, Rita here. Checking your line now."},
    )
    assert sent.status_code == 201, sent.text
    answer = say(hub, sender, "ok thanks, is it the same outage?")
    assert texts(answer, "agent") == ["Hi, Rita here. Checking your line now."]
    assert [m["custom"]["agent"] for m in answer if m["custom"]["from"] == "agent"] == ["Rita"]
    assert texts(say(hub, sender, "still there?"), "agent") == []

    # The customer's messages reach the agent and not the bot.
    transcript = hub.get(f"/api/agent/conversations/{conversation}", headers=auth).json()["messages"]
    assert "ok thanks, is it the same outage?" in [m["text"] for m in transcript]
    assert "ok thanks, is it the same outage?" not in rasa_user_texts(rasa, sender)

    # Handback: the bot answers again, in plain words, knowing a person helped, and says their note once.
    back = hub.post(
        f"/api/agent/conversations/{conversation}/handback",
        headers=auth,
        json={"note": "Same Lisbon outage; told them."},
    )
    assert back.status_code == 200, back.text
    bot_reply = texts(say(hub, sender, "when will it be fixed?"), "bot")
    assert bot_reply, "the bot must answer again after the handback"
    assert all(is_plain(t) for t in bot_reply), bot_reply
    picked_up = "Picking up where Rita left it. Rita's note: Same Lisbon outage; told them."
    assert bot_reply[0].startswith(picked_up), bot_reply
    assert "when will it be fixed?" in rasa_user_texts(rasa, sender)
    tracker = rasa.get(f"/conversations/{sender}/tracker").json()
    assert tracker["slots"]["human_helped"] is True
    assert tracker["slots"]["apologies_stopped"] is True
    assert (tracker["slots"]["handback_agent"], tracker["slots"]["handback_note"]) == (None, None)  # said once
    assert not any("Rita" in t for t in texts(say(hub, sender, "and my TV?"), "bot"))
