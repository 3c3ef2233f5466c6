"""The time rules (handoff/sweeper.py): an agent who does not answer loses the conversation back to the queue with
its priority; a customer who goes quiet is marked silent, never closed; a long wait raises the supervisors'
alert. Rounds are run at chosen moments (`sweep(hub, now)`); one test lets the hub's own timer run them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from handoff import models
from handoff.sweeper import ANSWER_TIMED_OUT, sweep


async def with_agent(hub: Any) -> tuple[str, int, dict[str, str]]:
    """A conversation claimed by ana: (sender, conversation id, ana's headers)."""
    sender, conversation_id = await hub.queued_conversation()
    headers = await hub.login("ana")
    assert (await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)).is_success
    return sender, conversation_id, headers


async def actions(hub: Any, conversation_id: int) -> list[str]:
    return [a["action"] for a in await hub.repository.audit_trail(conversation_id)]


async def test_an_agent_who_does_not_answer_loses_the_conversation_with_its_priority_kept(hub: Any) -> None:
    sender, conversation_id, headers = await with_agent(hub)
    before = await hub.repository.open_escalation(conversation_id)
    answer_time = timedelta(seconds=hub.settings.agent_answer_seconds)

    early = await sweep(hub.core, models.utcnow() + answer_time - timedelta(seconds=5))
    assert early.timed_out == [] and (await hub.repository.conversation(conversation_id)).state == "agent"

    swept = await sweep(hub.core, models.utcnow() + answer_time + timedelta(seconds=1))
    assert swept.timed_out == [conversation_id]
    conversation = await hub.repository.conversation(conversation_id)
    after = await hub.repository.open_escalation(conversation_id)
    assert (conversation.state, conversation.agent) == ("queued", None)
    assert (after.id, after.priority, after.created_at, after.claimed_at) == (
        before.id,
        before.priority,
        before.created_at,
        None,
    )
    told = (await hub.poll(sender)).json()["messages"][-1]
    assert told["text"] == ANSWER_TIMED_OUT and told["custom"]["from"] == "system"
    trail = await hub.repository.audit_trail(conversation_id)
    assert [(a["actor"], a["detail"]["agent"]) for a in trail if a["action"] == "assignment_timed_out"] == [
        ("hub:sweeper", "ana")
    ]
    again = await sweep(hub.core, models.utcnow() + 2 * answer_time)
    assert again.timed_out == []  # once
    me = (await hub.client.get("/api/agent/me", headers=headers)).json()
    assert (me["presence"], me["available"]) == ("away", False)  # so nothing more is routed to ana


async def test_an_agent_who_answered_keeps_the_conversation(hub: Any) -> None:
    _, conversation_id, headers = await with_agent(hub)
    sent = await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Ana here"}, headers=headers
    )
    assert sent.status_code == 201
    swept = await sweep(hub.core, models.utcnow() + timedelta(hours=1))
    assert swept.timed_out == [] and (await hub.repository.conversation(conversation_id)).state == "agent"


async def test_a_customer_who_goes_quiet_is_marked_silent_never_closed_and_unmarked_when_back(hub: Any) -> None:
    sender, conversation_id, headers = await with_agent(hub)
    await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Is it working now?"}, headers=headers
    )
    quiet = timedelta(seconds=hub.settings.silent_after_seconds)
    assert (await sweep(hub.core, models.utcnow() + quiet - timedelta(seconds=5))).silent == []
    swept = await sweep(hub.core, models.utcnow() + quiet + timedelta(seconds=1))
    assert swept.silent == [conversation_id]
    conversation = await hub.repository.conversation(conversation_id)
    assert conversation.state == "agent"  # not closed, not "completed"
    [item] = (await hub.client.get("/api/agent/queue", headers=headers)).json()["mine"]
    assert item["conversation_id"] == conversation_id and item["silent_since"] is not None

    assert (await sweep(hub.core, models.utcnow() + 3 * quiet)).silent == []  # marked once
    await hub.say(sender, "yes, it works again")
    [item] = (await hub.client.get("/api/agent/queue", headers=headers)).json()["mine"]
    assert item["silent_since"] is None
    trail = await actions(hub, conversation_id)
    assert trail.count("marked_silent") == 1 and trail.count("no_longer_silent") == 1


async def test_a_long_wait_raises_one_alert_that_supervisors_see(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    wait = timedelta(seconds=hub.settings.wait_alert_seconds)
    assert (await sweep(hub.core, models.utcnow() + wait - timedelta(seconds=5))).wait_alerts == []
    assert (await sweep(hub.core, models.utcnow() + wait + timedelta(seconds=1))).wait_alerts == [conversation_id]
    assert (await sweep(hub.core, models.utcnow() + 2 * wait)).wait_alerts == []  # once

    supervisor = await hub.login("ben")
    [alert] = (await hub.client.get("/api/agent/wait-alerts", headers=supervisor)).json()["alerts"]
    assert (alert["conversation_id"], alert["sender"]) == (conversation_id, sender) and alert["alerted_at"]
    agent = await hub.login("ana")
    refused = await hub.client.get("/api/agent/wait-alerts", headers=agent)
    assert refused.status_code == 403
    trail = await hub.repository.audit_trail(conversation_id)
    assert [a["actor"] for a in trail if a["action"] == "wait_alert"] == ["hub:sweeper"]

    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=agent)
    assert (await hub.client.get("/api/agent/wait-alerts", headers=supervisor)).json()["alerts"] == []


async def test_the_hubs_own_rounds_apply_the_rules(start_hub: Any, make_settings: Any) -> None:
    hub = await start_hub(make_settings(CANDOR_SWEEP_INTERVAL="0.2", CANDOR_AGENT_ANSWER_SECONDS="0.5"))
    _, conversation_id, _ = await with_agent(hub)
    for _ in range(50):
        if (await hub.repository.conversation(conversation_id)).state == "queued":
            break
        await asyncio.sleep(0.1)
    assert (await hub.repository.conversation(conversation_id)).state == "queued"
    assert "assignment_timed_out" in await actions(hub, conversation_id)


async def test_after_a_transfer_the_new_agent_has_the_full_time_and_only_their_own_answer_counts(
    start_hub: Any, make_settings: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_LOGIN_RATE="1000"))
    _, conversation_id, ana = await with_agent(hub)
    await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Ana here, passing you on"}, headers=ana
    )
    ben = await hub.login("ben")
    moved = await hub.client.post(
        f"/api/agent/conversations/{conversation_id}/transfer", json={"to_agent": "ben", "note": "billing"}, headers=ana
    )
    assert moved.status_code == 200, moved.text
    answer_time = timedelta(seconds=hub.settings.agent_answer_seconds)
    assert (await sweep(hub.core, models.utcnow() + answer_time - timedelta(seconds=5))).timed_out == []
    swept = await sweep(hub.core, models.utcnow() + answer_time + timedelta(seconds=1))
    assert swept.timed_out == [conversation_id]  # ana's message before the transfer is not ben's answer
    me = (await hub.client.get("/api/agent/me", headers=ben)).json()
    assert me["presence"] == "away"


async def test_a_conversation_queued_again_can_raise_a_new_alert(hub: Any) -> None:
    _, conversation_id = await hub.queued_conversation()
    wait = timedelta(seconds=hub.settings.wait_alert_seconds)
    assert (await sweep(hub.core, models.utcnow() + wait + timedelta(seconds=1))).wait_alerts == [conversation_id]
    headers = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
    answer_time = timedelta(seconds=hub.settings.agent_answer_seconds)
    later = models.utcnow() + max(answer_time, wait) + timedelta(seconds=1)
    swept = await sweep(hub.core, later)  # ana did not answer: back in the queue, waiting again
    assert swept.timed_out == [conversation_id] and swept.wait_alerts == [conversation_id]
