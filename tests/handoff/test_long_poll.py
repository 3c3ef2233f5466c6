"""Long polls: `?wait=<seconds>` on the customer's and the agent's message polls answers as soon as a message is
stored (handoff/updates.py), or with nothing when the wait ends."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import insert, update

from handoff import models, updates
from tests.handoff.conftest import customer_token


@pytest.fixture()
def no_second_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting polls never re-read the database on their own: only a wake-up can answer them early."""
    monkeypatch.setattr(updates, "LOOK_AGAIN", 60.0)


async def agent_conversation(hub: Any) -> tuple[str, int, dict[str, str]]:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    claimed = await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    assert claimed.status_code == 200
    return sender, conversation_id, headers


async def test_a_waiting_customer_poll_answers_when_the_agent_writes(hub: Any, no_second_look: None) -> None:
    sender, conversation_id, headers = await agent_conversation(hub)
    cursor = max(m["id"] for m in (await hub.poll(sender)).json()["messages"])

    waiting = asyncio.create_task(hub.poll(sender, cursor, wait=20))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # nothing new yet: it waits
    sent = await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Ana here"}, headers=headers
    )
    started = time.monotonic()
    answer = (await asyncio.wait_for(waiting, 10)).json()
    assert time.monotonic() - started < 10  # woken, not the end of its 20 s
    assert [m["id"] for m in answer["messages"]] == [sent.json()["id"]] and answer["state"] == "agent"
    assert answer["messages"][0]["custom"] == {"from": "agent", "agent": "Ana"}


async def test_a_waiting_poll_with_nothing_new_answers_empty_when_the_wait_ends(hub: Any) -> None:
    sender, _ = await hub.queued_conversation()
    cursor = max((m["id"] for m in (await hub.poll(sender)).json()["messages"]), default=0)
    started = time.monotonic()
    answer = (await hub.poll(sender, cursor, wait=1)).json()
    assert answer["messages"] == [] and time.monotonic() - started >= 1


async def test_a_waiting_agent_poll_answers_when_the_customer_writes(hub: Any, no_second_look: None) -> None:
    sender, conversation_id, headers = await agent_conversation(hub)
    listed = (await hub.client.get(f"/api/agent/conversations/{conversation_id}/messages", headers=headers)).json()
    cursor = listed["messages"][-1]["id"]
    waiting = asyncio.create_task(
        hub.client.get(
            f"/api/agent/conversations/{conversation_id}/messages",
            params={"after": cursor, "wait": 20},
            headers=headers,
        )
    )
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await hub.say(sender, "are you there?")
    answer = (await asyncio.wait_for(waiting, 10)).json()
    assert [(m["role"], m["text"]) for m in answer["messages"]] == [("customer", "are you there?")]


async def test_a_message_stored_by_another_hub_process_is_seen_at_the_next_look(
    start_hub: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(updates, "LOOK_AGAIN", 1.0)  # a look a second here (10 s in the hub)
    settings = make_settings()
    first = await start_hub(settings)
    second = await start_hub(make_settings(CANDOR_DATABASE_URL=settings.database_url))  # no wake-ups from it
    sender, conversation_id, headers = await agent_conversation(first)
    messages = (await first.poll(sender)).json()["messages"]
    cursor = max((m["id"] for m in messages), default=0)
    waiting = asyncio.create_task(first.poll(sender, cursor, wait=20))
    await asyncio.sleep(0.2)
    sent = await second.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "from the other hub"}, headers=headers
    )
    assert sent.status_code == 201
    answer = (await asyncio.wait_for(waiting, updates.LOOK_AGAIN + 5)).json()  # at the next look, not the 20 s
    assert [m["text"] for m in answer["messages"]] == ["from the other hub"]


@pytest.mark.parametrize(("wait", "says"), [("31", "at most 30"), ("-1", "whole number"), ("soon", "whole number")])
async def test_a_bad_wait_is_refused(hub: Any, wait: str, says: str) -> None:
    sender, _ = await hub.queued_conversation()
    headers = {"Authorization": f"Bearer {customer_token('C-1001')}"}
    response = await hub.client.get(f"/api/chat/{sender}/messages", params={"wait": wait}, headers=headers)
    assert response.status_code == 400 and says in response.json()["error"]


@pytest.mark.parametrize("second_by", ["agent", "hub"])
async def test_a_poll_never_sees_a_conversations_later_message_before_an_earlier_one(hub: Any, second_by: str) -> None:
    """Polls resume after the last id they saw, so a message must never become visible before one of the same
    conversation with a smaller id: another hub process still committing "first" holds "second" back, whether an
    agent writes it or the hub (a system notice: Repository.add_messages)."""
    sender, conversation_id, headers = await agent_conversation(hub)
    ana = (await hub.repository.agent_credentials("ana"))[0]
    conversations, messages = models.Conversation.__table__, models.Message.__table__
    async with hub.repository.engine.connect() as other:  # another hub, storing an agent message: not committed yet
        transaction = await other.begin()
        held = {"updated_at": models.utcnow()}  # as an agent's message does (handoff/repository.py add_agent_message)
        await other.execute(update(conversations).where(conversations.c.id == conversation_id).values(**held))
        first = {"conversation_id": conversation_id, "role": "agent", "text": "first", "extra": {}}
        await other.execute(insert(messages).values(**first, agent_id=ana.id, created_at=models.utcnow()))
        path = f"/api/agent/conversations/{conversation_id}/messages"
        sending = asyncio.ensure_future(
            hub.client.post(path, headers=headers, json={"text": "second"})
            if second_by == "agent"
            else hub.repository.add_messages(conversation_id, "system", [("second", {})])
        )
        await asyncio.sleep(1.0)
        polled = (await hub.poll(sender)).json()["messages"]
        assert "second" not in [m["text"] for m in polled]  # else a client resuming after it would never get "first"
        await transaction.commit()
    await sending
    polled = (await hub.poll(sender)).json()["messages"]
    assert [m["text"] for m in polled if m["text"] in ("first", "second")] == ["first", "second"]
