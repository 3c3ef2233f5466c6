"""Agent actions racing each other on two hub instances sharing one database: the database decides.

An agent's message and a handback (or resolve) at the same moment leave a consistent state: the message
is stored while the conversation was still the agent's, before the handback, or refused and absent.
"""

from __future__ import annotations

import asyncio
from typing import Any

ROUNDS = 8


async def two_hubs(hub: Any, start_hub: Any) -> Any:
    return await start_hub(hub.settings.__class__(**{**hub.settings.__dict__, "port": hub.settings.port + 1}))


async def claimed(hub: Any, headers: dict[str, str]) -> int:
    _, conversation_id = await hub.queued_conversation()
    response = await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    assert response.status_code == 200, response.text
    return int(conversation_id)


async def test_an_agent_message_racing_a_handback_is_stored_before_it_or_refused(hub: Any, start_hub: Any) -> None:
    other = await two_hubs(hub, start_hub)
    ana = await hub.login("ana")
    outcomes = set()
    for round_ in range(ROUNDS):
        conversation_id = await claimed(hub, ana)
        base = f"/api/agent/conversations/{conversation_id}"
        text = f"Ana here, round {round_}"
        sent, back = await asyncio.gather(
            hub.client.post(f"{base}/messages", headers=ana, json={"text": text}),
            other.client.post(f"{base}/handback", headers=ana, json={"note": "over to the bot"}),
        )
        assert back.status_code == 200, back.text
        assert sent.status_code in (201, 409), sent.text
        outcomes.add(sent.status_code)
        messages = await hub.repository.messages(conversation_id)
        agent_texts = [m.id for m in messages if m.role == "agent" and m.text == text]
        handed_back = [m.id for m in messages if m.role == "system" and "hand" in m.text.lower()]
        assert (await hub.repository.conversation(conversation_id)).state == "bot"
        if sent.status_code == 201:
            assert agent_texts == [sent.json()["id"]] and agent_texts[0] < handed_back[-1]
        else:
            assert agent_texts == [] and "not assigned to you" in sent.json()["error"]
    assert outcomes  # each round ended one of the two consistent ways


async def test_a_handback_racing_a_resolve_exactly_one_wins(hub: Any, start_hub: Any) -> None:
    other = await two_hubs(hub, start_hub)
    ana = await hub.login("ana")
    for _ in range(ROUNDS):
        conversation_id = await claimed(hub, ana)
        base = f"/api/agent/conversations/{conversation_id}"
        back, closed = await asyncio.gather(
            hub.client.post(f"{base}/handback", headers=ana, json={"note": "bot can take it"}),
            other.client.post(f"{base}/resolve", headers=ana, json={"reason": "fixed"}),
        )
        assert sorted([back.status_code, closed.status_code]) == [200, 409], (back.text, closed.text)
        state = (await hub.repository.conversation(conversation_id)).state
        assert state == ("bot" if back.status_code == 200 else "closed")
        actions = [a["action"] for a in await hub.repository.audit_trail(conversation_id)]
        assert actions.count("handed_back") + actions.count("resolved") == 1, actions
