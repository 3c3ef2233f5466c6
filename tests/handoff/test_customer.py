"""The customer side: Rasa's REST protocol through the hub, the queue, and the widget's poll."""

from __future__ import annotations

import re
import uuid
from typing import Any

from handoff.flows import BOT_UNAVAILABLE, LEAVE_A_MESSAGE

APOLOGY = re.compile(r"\b(sorry|apologi[sz]\w*|regret\w*)\b", re.IGNORECASE)


def origins(messages: list[dict[str, Any]]) -> list[str]:
    return [m["custom"]["from"] for m in messages]


async def test_while_with_the_bot_messages_go_to_rasa_and_both_sides_are_stored(hub: Any, fake_rasa: Any) -> None:
    sender = str(uuid.uuid4())
    answer = await hub.say(sender, "my internet is down")

    conversation = await hub.repository.conversation_by_sender(sender)
    said = (await hub.repository.messages(conversation.id))[0]
    # Not the customer's token; the hub's id for the message, by which the review inbox finds the turn in Rasa.
    metadata = {"candor_message_id": said.id}
    assert fake_rasa.calls == [
        ("/webhooks/rest/webhook", {"sender": sender, "message": "my internet is down", "metadata": metadata})
    ]
    assert [m["text"] for m in answer] == ["bot heard: my internet is down", "Anything else?"]
    assert origins(answer) == ["bot", "bot"]
    assert all(m["recipient_id"] == sender and isinstance(m["id"], int) for m in answer)
    assert answer[1]["buttons"] == [{"title": "No", "payload": "/deny"}]

    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.state == "bot" and conversation.customer_id == "C-1001"
    stored = await hub.repository.messages(conversation.id)
    assert [(m.role, m.text) for m in stored] == [
        ("customer", "my internet is down"),
        ("bot", "bot heard: my internet is down"),
        ("bot", "Anything else?"),
    ]


async def test_an_unknown_customer_id_is_not_linked_but_the_chat_goes_on(hub: Any) -> None:
    sender = str(uuid.uuid4())
    assert await hub.say(sender, "hello", customer_id="C-0000")
    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.customer_id is None
    assert "unknown_customer_id" in [a["action"] for a in await hub.repository.audit_trail(conversation.id)]


async def test_once_queued_messages_never_reach_rasa(hub: Any, fake_rasa: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    calls_before = len(fake_rasa.calls)

    answer = await hub.say(sender, "hello? anyone there?")

    assert len(fake_rasa.calls) == calls_before
    assert "hello? anyone there?" not in fake_rasa.messages()
    assert origins(answer) == ["system"]
    assert answer[0]["text"] == (
        "Nobody from the team is online at this moment. Your conversation stays in the queue, and a person "
        f"will reply here as soon as someone is available. {LEAVE_A_MESSAGE}"
    )
    texts = [m.text for m in await hub.repository.messages(conversation_id)]
    assert "hello? anyone there?" in texts  # stored all the same, for the agent


async def test_queue_notice_gives_position_and_wait_when_agents_are_online(hub: Any) -> None:
    await hub.login("ana")
    await hub.queued_conversation()
    sender, _ = await hub.queued_conversation()
    (notice,) = await hub.say(sender, "how long?")
    assert notice["text"] == "You're number 2 in the queue; the expected wait is about 10 minutes."


async def test_rasa_failing_queues_the_conversation_with_an_honest_message(hub: Any, fake_rasa: Any) -> None:
    fake_rasa.mode = "error"
    sender = str(uuid.uuid4())
    answer = await hub.say(sender, "my tv is broken")

    assert origins(answer) == ["system"]
    assert answer[0]["text"].startswith(BOT_UNAVAILABLE)
    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.state == "queued"
    escalation = await hub.repository.open_escalation(conversation.id)
    assert escalation.reason == "bot_unavailable" and "my tv is broken" in escalation.summary
    actions = [a["action"] for a in await hub.repository.audit_trail(conversation.id)]
    assert actions == ["conversation_started", "rasa_failed", "escalated"]

    fake_rasa.mode = "ok"
    calls = len(fake_rasa.calls)
    await hub.say(sender, "still broken")
    assert len(fake_rasa.calls) == calls  # queued now: the bot is not asked again


async def test_an_empty_answer_from_rasa_is_a_failure_not_silence(hub: Any, fake_rasa: Any) -> None:
    fake_rasa.mode = "empty"  # the action server failed: Rasa's REST channel answers 200 []
    sender = str(uuid.uuid4())
    answer = await hub.say(sender, "my internet is down")
    assert origins(answer) == ["system"] and answer[0]["text"].startswith(BOT_UNAVAILABLE)
    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.state == "queued"
    trail = await hub.repository.audit_trail(conversation.id)
    assert [a["action"] for a in trail] == ["conversation_started", "rasa_failed", "escalated"]
    assert "no message" in trail[1]["detail"]["error"]


async def test_rasa_timing_out_queues_the_conversation(hub: Any, fake_rasa: Any) -> None:
    fake_rasa.mode, fake_rasa.delay = "slow", 2.5  # CANDOR_RASA_TIMEOUT is 1 s in the tests
    sender = str(uuid.uuid4())
    answer = await hub.say(sender, "hello")
    assert answer[0]["text"].startswith(BOT_UNAVAILABLE)
    assert (await hub.repository.conversation_by_sender(sender)).state == "queued"


async def test_rasa_unreachable_queues_the_conversation(start_hub: Any, make_settings: Any, dead_url: str) -> None:
    hub = await start_hub(make_settings(CANDOR_RASA_URL=dead_url))
    sender = str(uuid.uuid4())
    answer = await hub.say(sender, "hello")
    assert answer[0]["text"].startswith(BOT_UNAVAILABLE)
    assert (await hub.repository.conversation_by_sender(sender)).state == "queued"


async def test_system_messages_never_apologise(hub: Any, fake_rasa: Any) -> None:
    fake_rasa.mode = "error"
    sender = str(uuid.uuid4())
    said = await hub.say(sender, "hello")
    said += await hub.say(sender, "hello again")
    headers = await hub.login("ana")
    conversation = await hub.repository.conversation_by_sender(sender)
    await hub.client.post(f"/api/agent/conversations/{conversation.id}/claim", headers=headers)
    await hub.client.post(
        f"/api/agent/conversations/{conversation.id}/resolve", headers=headers, json={"reason": "fixed"}
    )
    system = [m.text for m in await hub.repository.messages(conversation.id) if m.role == "system"]
    assert len(system) == 4  # queued (twice), who has it, closed
    assert not [t for t in system + [m["text"] for m in said] if APOLOGY.search(t)]


async def test_a_closed_conversation_reopens_with_the_bot(hub: Any, fake_rasa: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    assert (
        await hub.client.post(
            f"/api/agent/conversations/{conversation_id}/resolve", headers=headers, json={"reason": "fixed"}
        )
    ).status_code == 200
    answer = await hub.say(sender, "it broke again")
    assert origins(answer) == ["bot", "bot"] and fake_rasa.messages()[-1] == "it broke again"
    assert (await hub.repository.conversation(conversation_id)).state == "bot"


async def test_chat_poll_returns_what_the_customer_has_not_seen(hub: Any) -> None:
    sender = str(uuid.uuid4())
    first = await hub.say(sender, "hi")
    poll = (await hub.poll(sender)).json()
    assert poll["state"] == "bot" and poll["queue"] is None
    assert [m["id"] for m in poll["messages"]] == [m["id"] for m in first]  # no customer messages
    after = first[-1]["id"]
    assert (await hub.poll(sender, after)).json()["messages"] == []

    await hub.escalate(sender)
    poll = (await hub.poll(sender, after)).json()
    assert poll["state"] == "queued"
    assert poll["queue"] == {
        "position": 1,
        "expected_wait_minutes": 5,
        "agents_online": 0,
        "open_now": True,
        "opens_at": None,
    }


async def test_chat_poll_errors(hub: Any) -> None:
    response = await hub.client.get("/api/chat/nobody-0123456789abcdef/messages")
    assert response.status_code == 404 and "error" in response.json()
    await hub.say("someone-0123456789abcdef", "hi")
    response = await hub.client.get("/api/chat/someone-0123456789abcdef/messages", params={"after": "x"})
    assert response.status_code == 400 and "after" in response.json()["error"]
