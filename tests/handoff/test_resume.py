"""Resume after lost answers (issue 5): a client asks for what it missed since a message id.

Customers: `GET /api/chat/{sender}/messages?after=<id>` (bot, agent and system messages). Agents:
`GET /api/agent/conversations/{id}/messages?after=<id>` (every role). Each missed message comes once, in
order, and nothing at or before the cursor; a lost answer (webhook, agent post or poll) is "lost" here by
ignoring it. Whether a message was already handed out in an answer (`delivered_at`) does not matter.
"""

from __future__ import annotations

import uuid
from typing import Any

from handoff.flows import BOT_UNAVAILABLE

MAX_ID = 2**63 - 1  # SQLite's largest integer


async def chat_poll(hub: Any, sender: str, after: int | str) -> dict[str, Any]:
    response = await hub.poll(sender, after)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def agent_poll(hub: Any, conversation_id: int, after: int | str, headers: dict[str, str]) -> dict[str, Any]:
    response = await hub.client.get(
        f"/api/agent/conversations/{conversation_id}/messages", params={"after": str(after)}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def say_and_lose_the_answer(hub: Any, sender: str, text: str) -> list[int]:
    """The hub stored and answered; the customer never saw the answer. The ids it carried."""
    return [m["id"] for m in await hub.say(sender, text)]


def ids(messages: list[dict[str, Any]]) -> list[int]:
    return [m["id"] for m in messages]


async def test_a_customer_whose_answers_were_lost_gets_every_missed_message_once_in_order(
    hub: Any, fake_rasa: Any
) -> None:
    sender = str(uuid.uuid4())
    seen = await hub.say(sender, "my internet is down")  # this answer arrived
    cursor = seen[-1]["id"]
    conversation = await hub.repository.conversation_by_sender(sender)

    # From here on every answer is lost: bot replies, a failure notice, a queue notice, agent messages
    # handed out in a webhook answer (now marked delivered), and the handback notice.
    lost = await say_and_lose_the_answer(hub, sender, "it is still down")
    fake_rasa.mode = "error"
    lost += await say_and_lose_the_answer(hub, sender, "hello?")  # Rasa fails: queued, system notice
    lost += await say_and_lose_the_answer(hub, sender, "anyone there?")  # queued: queue notice
    fake_rasa.mode = "ok"
    headers = await hub.login("ana")
    claimed = await hub.client.post(f"/api/agent/conversations/{conversation.id}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.text
    agent_texts = ["Hi, this is Ana.", "I am checking your line now."]
    for text in agent_texts:
        posted = await hub.client.post(
            f"/api/agent/conversations/{conversation.id}/messages", json={"text": text}, headers=headers
        )
        assert posted.status_code == 201, posted.text
    handed_out = await say_and_lose_the_answer(hub, sender, "thanks")  # the agent's two messages, once
    assert len(handed_out) == 2
    lost += handed_out
    posted = await hub.client.post(
        f"/api/agent/conversations/{conversation.id}/messages", json={"text": "Fixed: restart it."}, headers=headers
    )
    assert posted.status_code == 201, posted.text
    agent_texts.append("Fixed: restart it.")
    handback = await hub.client.post(f"/api/agent/conversations/{conversation.id}/handback", headers=headers)
    assert handback.status_code == 200, handback.text

    resumed = (await chat_poll(hub, sender, cursor))["messages"]

    stored = await hub.repository.messages(conversation.id)
    missed = [m for m in stored if m.id > cursor and m.role != "customer"]
    assert ids(resumed) == [m.id for m in missed]  # all of them, in the stored order
    assert ids(resumed) == sorted(set(ids(resumed)))  # each once, oldest first
    assert all(i > cursor for i in ids(resumed))  # nothing at or before the cursor
    expected = ["bot", "bot", "system", "system", "system", "agent", "agent", "agent", "system"]  # queued, Ana has it
    assert [m["custom"]["from"] for m in resumed] == expected
    assert [m["text"] for m in resumed if m["custom"]["from"] == "agent"] == agent_texts
    assert resumed[2]["text"].startswith(BOT_UNAVAILABLE)
    assert "handed this conversation back" in resumed[-1]["text"]
    assert set(lost) <= set(ids(resumed))  # every answer that was lost, agent messages already handed out included
    assert all(m["recipient_id"] == sender for m in resumed)

    # Up to date: nothing more. A lost poll answer is repeated with the same cursor and gives the same.
    assert (await chat_poll(hub, sender, resumed[-1]["id"]))["messages"] == []
    assert ids((await chat_poll(hub, sender, cursor))["messages"]) == ids(resumed)
    # Any message id is a cursor: from the middle, exactly the rest.
    assert ids((await chat_poll(hub, sender, resumed[3]["id"]))["messages"]) == ids(resumed)[4:]


async def test_an_agent_gets_every_message_since_a_message_id_once_in_order(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    claimed = await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.text
    packet = await hub.client.get(f"/api/agent/conversations/{conversation_id}", headers=headers)
    assert packet.status_code == 200, packet.text
    cursor = packet.json()["messages"][-1]["id"]  # the console showed the transcript up to here

    # The console loses its connection; meanwhile the customer writes and the agent's own post's answer is lost.
    for text in ("are you there?", "my router blinks red", "it is the third day"):
        await hub.say(sender, text)
    posted = await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Yes, I'm here."}, headers=headers
    )
    assert posted.status_code == 201, posted.text
    await hub.say(sender, "great")

    data = await agent_poll(hub, conversation_id, cursor, headers)

    stored = await hub.repository.messages(conversation_id)
    assert data["state"] == "agent"
    assert ids(data["messages"]) == [m.id for m in stored if m.id > cursor]
    assert ids(data["messages"]) == sorted(set(ids(data["messages"])))
    assert [(m["role"], m["text"]) for m in data["messages"]] == [
        ("customer", "are you there?"),
        ("customer", "my router blinks red"),
        ("customer", "it is the third day"),
        ("agent", "Yes, I'm here."),
        ("customer", "great"),
    ]
    assert posted.json()["id"] in ids(data["messages"])
    assert all(i > cursor for i in ids(data["messages"]))

    last = data["messages"][-1]["id"]
    assert (await agent_poll(hub, conversation_id, last, headers))["messages"] == []
    assert ids((await agent_poll(hub, conversation_id, cursor, headers))["messages"]) == ids(data["messages"])


async def test_a_cursor_beyond_the_last_message_gives_nothing(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    stored = await hub.repository.messages(conversation_id)
    last = stored[-1].id
    assert (await chat_poll(hub, sender, last))["messages"] == []
    for after in (last + 1, last + 1000, MAX_ID):
        assert (await chat_poll(hub, sender, after))["messages"] == []
        assert (await agent_poll(hub, conversation_id, after, headers))["messages"] == []
    # ...and a message written later is still found from the old cursor.
    (notice,) = await hub.say(sender, "still waiting")
    assert ids((await chat_poll(hub, sender, last))["messages"]) == [notice["id"]]


async def test_a_negative_or_non_number_cursor_is_refused(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    before = await hub.repository.messages(conversation_id)
    for after in (
        "-1",
        "-100",
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "3; DROP TABLE messages",
        "+3",
        " 4",
        "1_000",
        str(MAX_ID + 1),
    ):
        chat = await hub.poll(sender, after)
        agent = await hub.client.get(
            f"/api/agent/conversations/{conversation_id}/messages", params={"after": after}, headers=headers
        )
        for response in (chat, agent):
            assert response.status_code == 400, (after, response.text)
            assert "after" in response.json()["error"]
    assert await hub.repository.messages(conversation_id) == before  # nothing marked, nothing changed
