"""Idempotent intake: a customer message carrying `metadata.message_id` is stored and answered once; a retry
with the same id gets the same answer and is never a new turn (docs/hub-api.md, "Delivery and resume")."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest


async def customer_messages(hub: Any, sender: str) -> list[str]:
    conversation = await hub.repository.conversation_by_sender(sender)
    return [m.text for m in await hub.repository.messages(conversation.id) if m.role == "customer"]


async def test_a_retry_gets_the_first_answer_and_rasa_is_called_once(hub: Any, fake_rasa: Any) -> None:
    sender = str(uuid.uuid4())
    first = await hub.say(sender, "my internet is down", message_id="m-1")
    again = await hub.say(sender, "my internet is down", message_id="m-1")
    assert again == first and next(m["text"] for m in first) == "bot heard: my internet is down"
    assert fake_rasa.messages() == ["my internet is down"]
    assert await customer_messages(hub, sender) == ["my internet is down"]
    conversation = await hub.repository.conversation_by_sender(sender)
    trail = await hub.repository.audit_trail(conversation.id)
    assert [a["detail"] for a in trail if a["action"] == "duplicate_message"] == [{"message_id": "m-1"}]

    await hub.say(sender, "my internet is down", message_id="m-2")  # a new id is a new turn, same words or not
    await hub.say(sender, "still down")  # and a message without an id is always new
    assert fake_rasa.messages() == ["my internet is down", "my internet is down", "still down"]


async def test_retries_at_the_same_time_make_one_turn(hub: Any, fake_rasa: Any) -> None:
    fake_rasa.mode, fake_rasa.delay = "slow", 0.5  # the retries arrive while Rasa is still thinking
    sender = str(uuid.uuid4())
    await hub.say(sender, "hello", message_id="m-0")
    answers = await asyncio.gather(*(hub.post_message(sender, "is anyone there", message_id="m-1") for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    bodies = [a.json() for a in answers]
    assert all(body == bodies[0] for body in bodies) and bodies[0]
    assert fake_rasa.messages() == ["hello", "is anyone there"]
    assert await customer_messages(hub, sender) == ["hello", "is anyone there"]


async def test_a_retry_while_queued_adds_no_second_notice(hub: Any, fake_rasa: Any) -> None:
    sender, conversation = await hub.queued_conversation()
    first = await hub.say(sender, "still waiting", message_id="w-1")
    again = await hub.say(sender, "still waiting", message_id="w-1")
    assert again == first and [m["custom"]["from"] for m in first] == ["system"]
    stored = await hub.repository.messages(conversation)
    assert [m.text for m in stored if m.role == "customer"].count("still waiting") == 1
    assert [m.text for m in stored if m.role == "system"] == [first[0]["text"]]  # the notice of w-1, once


async def test_a_retry_after_rasa_failed_gets_the_same_notice_and_rasa_is_not_called_again(
    hub: Any, fake_rasa: Any
) -> None:
    fake_rasa.mode = "error"
    sender = str(uuid.uuid4())
    first = await hub.say(sender, "my internet is down", message_id="f-1")
    fake_rasa.mode = "ok"
    again = await hub.say(sender, "my internet is down", message_id="f-1")
    assert again == first and [m["custom"]["from"] for m in first] == ["system"]
    assert len(fake_rasa.messages()) == 1


async def test_the_same_id_with_other_words_is_refused_and_changes_nothing(hub: Any, fake_rasa: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down", message_id="m-1")
    response = await hub.post_message(sender, "my tv is down", message_id="m-1")
    assert response.status_code == 409 and "message_id" in response.json()["error"]
    assert await customer_messages(hub, sender) == ["my internet is down"]
    assert fake_rasa.messages() == ["my internet is down"]


async def test_message_ids_belong_to_their_conversation(hub: Any, fake_rasa: Any) -> None:
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    await hub.say(one, "hello from one", message_id="m-1")
    await hub.say(two, "hello from two", message_id="m-1")
    assert fake_rasa.messages() == ["hello from one", "hello from two"]


@pytest.mark.parametrize("message_id", [17, "", "x" * 129, ["m-1"]])
async def test_a_malformed_message_id_is_refused(hub: Any, message_id: Any) -> None:
    sender = str(uuid.uuid4())
    response = await hub.client.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": "hello", "metadata": {"message_id": message_id}}
    )
    assert response.status_code == 400 and "message_id" in response.json()["error"]
    assert await hub.repository.conversation_by_sender(sender) is None


async def test_a_retry_of_a_message_that_was_never_answered_answers_it_once(hub: Any, fake_rasa: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hello", customer_id=None, message_id="m-0")
    # As if the hub stopped after storing m-1 and before answering it: stored, no answer recorded.
    _conversation, stored, _ = await hub.repository.receive_customer_message(
        sender, "my internet is down", message_id="m-1"
    )
    assert await hub.repository.answer_of(stored.id) is None

    # The retry waits out the time the first request had (Rasa timeout + 2 s), then answers the message.
    retry = await hub.say(sender, "my internet is down", customer_id=None, message_id="m-1")
    assert next(m["text"] for m in retry) == "bot heard: my internet is down"
    assert fake_rasa.messages() == ["hello", "my internet is down"]
    assert await hub.say(sender, "my internet is down", customer_id=None, message_id="m-1") == retry
    assert len(fake_rasa.messages()) == 2
    assert await customer_messages(hub, sender) == ["hello", "my internet is down"]
