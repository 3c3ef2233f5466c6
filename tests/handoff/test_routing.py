"""Routing (handoff/routing.py, docs/hub-api.md "Routing"): the hub gives a waiting conversation to the available
agent with free capacity, the right team and skills, assigned least recently; presence; transfers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff import models, routing
from handoff.auth import hash_password
from handoff.schemas import AgentSeed

PASSWORD = "routing-test-password"
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


# The rules ------------------------------------------------------------------------------------------


def candidate(agent_id: int, **given: Any) -> routing.Candidate:
    values: dict[str, Any] = {"username": f"agent{agent_id}", "available": True, "capacity": 2, "open_conversations": 0}
    values.update(given)
    return routing.Candidate(agent_id=agent_id, **values)


def test_the_least_recently_assigned_able_agent_gets_each_conversation_in_queue_order() -> None:
    agents = [
        candidate(1, last_assigned_at=T0),
        candidate(2, last_assigned_at=T0 - timedelta(minutes=5)),
        candidate(3, available=False),  # away or console closed
        candidate(4, open_conversations=2),  # full
    ]
    queue = [routing.Need(c) for c in (10, 11, 12, 13, 14)]
    given = [(c, a.agent_id) for c, a, _ in routing.assignments(queue, agents, T0 + timedelta(minutes=1))]
    assert given == [(10, 2), (11, 1), (12, 2), (13, 1)]  # taking turns, two places each; 14 waits


def test_skills_and_team_must_match_and_an_unmatched_conversation_holds_up_nobody() -> None:
    agents = [candidate(1, skills=frozenset({"tv"})), candidate(2, skills=frozenset({"billing", "tv"}), team="b")]
    queue = [
        routing.Need(10, frozenset({"mobile"})),  # nobody has it: it waits
        routing.Need(11, frozenset({"billing"})),
        routing.Need(12, team="b"),
        routing.Need(13, frozenset({"tv"})),
    ]
    assert [(c, a.agent_id) for c, a, _ in routing.assignments(queue, agents, T0)] == [(11, 2), (12, 2), (13, 1)]
    reason = routing.unavailable_reason(routing.Need(10, frozenset({"mobile", "tv"})), agents[0])
    assert reason == "agent1 lacks the skills mobile"


def test_skills_count_only_for_a_while() -> None:
    need = routing.need_of(10, ["mobile"], "support", timedelta(minutes=2), timedelta(minutes=3))
    assert need == routing.Need(10, frozenset({"mobile"}), "support")
    later = routing.need_of(10, ["mobile"], "support", timedelta(minutes=3), timedelta(minutes=3))
    assert later == routing.Need(10, frozenset(), "support")  # any agent of the team will do now


# Through the hub ----------------------------------------------------------------------------------------


@pytest.fixture()
async def auto_hub(start_hub: Any, make_settings: Any) -> Any:
    return await start_hub(make_settings(CANDOR_ASSIGNMENT="auto", CANDOR_LOGIN_RATE="1000"))


async def add_agent(hub: Any, username: str, **attributes: Any) -> dict[str, str]:
    """A new agent with these routing attributes, logged in (so online); their auth headers."""
    seed = AgentSeed(
        username=username, display_name=username.title(), password_hash=hash_password(PASSWORD, rounds=4), **attributes
    )
    await hub.repository.add_agent(seed, "test")
    return await login(hub, username, PASSWORD)


async def login(hub: Any, username: str, password: str) -> dict[str, str]:
    response = await hub.client.post("/api/agent/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def escalated(hub: Any, **body: Any) -> tuple[str, dict[str, Any]]:
    """A new conversation escalated by the bot: (sender, the escalate answer)."""
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down")
    response = await hub.escalate(sender, **body)
    assert response.status_code == 200, response.text
    return sender, response.json()


async def holder(hub: Any, sender: str) -> str | None:
    conversation = await hub.repository.conversation_by_sender(sender)
    return conversation.agent.username if conversation.state == "agent" else None


async def test_an_escalation_goes_at_once_to_the_agent_who_is_there(auto_hub: Any) -> None:
    headers = await add_agent(auto_hub, "rita")
    sender, answer = await escalated(auto_hub)
    assert answer["state"] == "agent" and answer["notice"] == "Rita from the team has this conversation now."
    assert await holder(auto_hub, sender) == "rita"
    mine = (await auto_hub.client.get("/api/agent/queue", headers=headers)).json()["mine"]
    assert [item["sender"] for item in mine] == [sender]
    conversation = await auto_hub.repository.conversation_by_sender(sender)
    trail = await auto_hub.repository.audit_trail(conversation.id)
    assert [(a["actor"], a["detail"]) for a in trail if a["action"] == "assigned"] == [
        ("hub:router", {"agent": "rita"})
    ]


async def test_with_nobody_there_it_waits_and_goes_to_the_first_agent_who_comes_online(auto_hub: Any) -> None:
    sender, answer = await escalated(auto_hub)
    assert answer["state"] == "queued" and answer["agents_online"] == 0
    await add_agent(auto_hub, "rita")  # logging in is coming online
    assert await holder(auto_hub, sender) == "rita"


async def test_an_away_agent_gets_nothing_until_online_again(auto_hub: Any) -> None:
    headers = await add_agent(auto_hub, "rita")
    away = await auto_hub.client.put("/api/agent/me/presence", json={"presence": "away"}, headers=headers)
    assert away.status_code == 200 and away.json()["presence"] == "away" and away.json()["available"] is False
    sender, answer = await escalated(auto_hub)
    assert answer["state"] == "queued" and answer["agents_online"] == 0
    back = await auto_hub.client.put("/api/agent/me/presence", json={"presence": "online"}, headers=headers)
    assert back.json()["open_conversations"] == 0  # the answer is from before routing ran
    assert await holder(auto_hub, sender) == "rita"
    me = (await auto_hub.client.get("/api/agent/me", headers=headers)).json()
    assert me["open_conversations"] == 1 and me["capacity"] == routing.DEFAULT_CAPACITY
    trail = [(a["detail"]["before"], a["detail"]["after"]) for a in await audit(auto_hub, "presence_changed")]
    assert trail == [("offline", "online"), ("online", "away"), ("away", "online")]


async def audit(hub: Any, action: str) -> list[dict[str, Any]]:
    """Every audit entry of this action, oldest first (also those of no conversation, like presence changes)."""
    async with hub.repository._sessions() as session:
        rows = await session.scalars(
            select(models.Audit).where(models.Audit.action == action).order_by(models.Audit.id)
        )
        return [{"actor": r.actor, "detail": dict(r.detail)} for r in rows]


@pytest.mark.parametrize("presence", ["busy", "", None])
async def test_a_presence_out_of_the_list_is_refused(auto_hub: Any, presence: Any) -> None:
    headers = await add_agent(auto_hub, "rita")
    response = await auto_hub.client.put("/api/agent/me/presence", json={"presence": presence}, headers=headers)
    assert response.status_code == 400 and "presence" in response.json()["error"]


async def test_capacity_is_respected_and_a_freed_place_takes_the_next(auto_hub: Any) -> None:
    headers = await add_agent(auto_hub, "rita", capacity=1)
    (first, _), (second, _) = await asyncio.gather(escalated(auto_hub), escalated(auto_hub))
    holders = {first: await holder(auto_hub, first), second: await holder(auto_hub, second)}
    assert sorted(str(h) for h in holders.values()) == ["None", "rita"]
    taken = next(s for s, h in holders.items() if h == "rita")
    waiting = next(s for s, h in holders.items() if h is None)
    conversation = await auto_hub.repository.conversation_by_sender(taken)
    resolved = await auto_hub.client.post(
        f"/api/agent/conversations/{conversation.id}/resolve", json={"reason": "fixed"}, headers=headers
    )
    assert resolved.status_code == 200
    assert await holder(auto_hub, waiting) == "rita"


async def test_skills_and_teams_decide_who_and_work_is_spread_least_recently_assigned(auto_hub: Any) -> None:
    await add_agent(auto_hub, "tina", skills=["tv"], capacity=5)
    await add_agent(auto_hub, "bill", skills=["billing", "tv"], team="billing", capacity=5)
    billing, _ = await escalated(auto_hub, skills=["billing"])
    assert await holder(auto_hub, billing) == "bill"
    for_team, _ = await escalated(auto_hub, team="billing")
    assert await holder(auto_hub, for_team) == "bill"
    nobody, answer = await escalated(auto_hub, skills=["mobile"])
    assert answer["state"] == "queued" and await holder(auto_hub, nobody) is None
    spread = [await holder(auto_hub, (await escalated(auto_hub, skills=["tv"]))[0]) for _ in range(3)]
    assert spread == ["tina", "bill", "tina"]  # tina was never assigned, then bill's turn, then tina again


async def test_in_claim_mode_nothing_is_assigned(hub: Any) -> None:
    await hub.login("ana")
    _sender, answer = await escalated(hub)
    assert answer["state"] == "queued" and answer["agents_online"] == 1


async def test_two_hubs_routing_at_once_give_each_conversation_once_and_nobody_more_than_capacity(
    start_hub: Any, make_settings: Any
) -> None:
    settings = make_settings(CANDOR_ASSIGNMENT="auto", CANDOR_LOGIN_RATE="1000")
    first = await start_hub(settings)
    second = await start_hub(make_settings(CANDOR_ASSIGNMENT="auto", CANDOR_DATABASE_URL=settings.database_url))
    await add_agent(first, "rita", capacity=3)
    await add_agent(first, "sam", capacity=3)
    senders = [str(uuid.uuid4()) for _ in range(10)]
    hubs = [first, second] * 5
    await asyncio.gather(*(h.say(s, "my internet is down") for h, s in zip(hubs, senders, strict=True)))
    answers = await asyncio.gather(*(h.escalate(s) for h, s in zip(hubs, senders, strict=True)))
    assert [a.status_code for a in answers] == [200] * 10
    holders = [await holder(first, s) for s in senders]
    assert sorted(h for h in holders if h) == ["rita"] * 3 + ["sam"] * 3
    assigned = await audit(first, "assigned")
    assert len(assigned) == 6  # each conversation given once


# Transfers ----------------------------------------------------------------------------------------------


async def transfer(hub: Any, conversation_id: int, headers: dict[str, str], **body: Any) -> Any:
    return await hub.client.post(f"/api/agent/conversations/{conversation_id}/transfer", json=body, headers=headers)


async def test_a_transfer_to_an_agent_moves_it_with_its_note(auto_hub: Any) -> None:
    rita = await add_agent(auto_hub, "rita")
    sender, _ = await escalated(auto_hub)
    sam = await add_agent(auto_hub, "sam")
    conversation = await auto_hub.repository.conversation_by_sender(sender)

    response = await transfer(auto_hub, conversation.id, rita, to_agent="sam", note="needs a refund; sam has billing")
    assert response.status_code == 200, response.text
    assert response.json()["conversation"]["agent"]["username"] == "sam"
    packet = (await auto_hub.client.get(f"/api/agent/conversations/{conversation.id}", headers=sam)).json()
    [moved] = packet["escalation"]["transfers"]
    assert (moved["from"], moved["to"], moved["by"], moved["note"]) == (
        "rita",
        "sam",
        "rita",
        "needs a refund; sam has billing",
    )
    told = (await auto_hub.poll(sender)).json()["messages"][-1]
    assert told["custom"]["from"] == "system" and "Sam" in told["text"]
    # rita no longer holds it; sam does
    gone = await auto_hub.client.post(
        f"/api/agent/conversations/{conversation.id}/messages", json={"text": "hi"}, headers=rita
    )
    assert gone.status_code == 409
    sent = await auto_hub.client.post(
        f"/api/agent/conversations/{conversation.id}/messages", json={"text": "hi"}, headers=sam
    )
    assert sent.status_code == 201


async def test_a_transfer_is_refused_naming_why_and_changes_nothing(auto_hub: Any) -> None:
    rita = await add_agent(auto_hub, "rita")
    sender, _ = await escalated(auto_hub)
    sam = await add_agent(auto_hub, "sam", capacity=1)
    await auto_hub.client.put("/api/agent/me/presence", json={"presence": "away"}, headers=sam)
    conversation = await auto_hub.repository.conversation_by_sender(sender)

    cases = [
        ({"to_agent": "sam", "note": "x"}, 409, "sam is not available"),
        ({"to_agent": "nobody", "note": "x"}, 404, "no agent nobody"),
        ({"to_agent": "rita", "note": "x"}, 409, "with rita already"),
        ({"to_team": "nobodys-team", "note": "x"}, 404, "no team nobodys-team"),
        ({"to_agent": "sam", "to_team": "billing", "note": "x"}, 400, "exactly one"),
        ({"note": "x"}, 400, "exactly one"),
        ({"to_agent": "sam", "note": "  "}, 400, "note"),
    ]
    for body, status, says in cases:
        response = await transfer(auto_hub, conversation.id, rita, **body)
        assert (response.status_code, says in response.json()["error"]) == (status, True), (body, response.text)
    assert await holder(auto_hub, sender) == "rita"
    not_mine = await transfer(auto_hub, conversation.id, sam, to_agent="rita", note="x")
    assert not_mine.status_code == 409 and "not assigned to you" in not_mine.json()["error"]


async def test_a_transfer_to_a_team_requeues_it_with_its_priority_and_the_team_takes_it(auto_hub: Any) -> None:
    rita = await add_agent(auto_hub, "rita")
    sender, _ = await escalated(auto_hub)
    conversation = await auto_hub.repository.conversation_by_sender(sender)
    before = await auto_hub.repository.open_escalation(conversation.id)
    await auto_hub.repository.add_agent(
        AgentSeed(
            username="bill", display_name="Bill", password_hash=hash_password(PASSWORD, rounds=4), team="billing"
        ),
        "test",
    )  # in the team, not logged in yet

    response = await transfer(auto_hub, conversation.id, rita, to_team="billing", note="a billing question")
    assert response.status_code == 200 and response.json()["conversation"]["state"] == "queued"
    after = await auto_hub.repository.open_escalation(conversation.id)
    assert (after.priority, after.created_at, after.team) == (before.priority, before.created_at, "billing")
    await login(auto_hub, "bill", PASSWORD)
    assert await holder(auto_hub, sender) == "bill"  # rita is online and free, but not in the team


async def test_a_conversation_nobody_has_the_skills_for_goes_to_anyone_after_the_wait(
    start_hub: Any, make_settings: Any
) -> None:
    hub = await start_hub(
        make_settings(
            CANDOR_ASSIGNMENT="auto",
            CANDOR_SKILLS_WAIT_SECONDS="0.6",
            CANDOR_SWEEP_INTERVAL="0.2",  # the hub's own rounds assign it: no event happens meanwhile
        )
    )
    await add_agent(hub, "rita", skills=["internet"])
    sender, answer = await escalated(hub, skills=["landline"])
    assert answer["state"] == "queued"
    for _ in range(50):
        if await holder(hub, sender) == "rita":
            break
        await asyncio.sleep(0.1)
    assert await holder(hub, sender) == "rita"
    conversation = await hub.repository.conversation_by_sender(sender)
    escalation = await hub.repository.open_escalation(conversation.id)
    assert escalation.claimed_at - escalation.created_at >= timedelta(seconds=0.6)  # not before the wait


async def test_the_directory_lists_whom_a_conversation_can_be_transferred_to(hub: Any) -> None:
    ana, ben = await hub.login("ana"), await hub.login("ben")
    await hub.client.put("/api/agent/me/presence", headers=ben, json={"presence": "away"})
    directory = (await hub.client.get("/api/agent/directory", headers=ana)).json()
    agents = {a["agent"]["username"]: a for a in directory["agents"]}
    assert (agents["ana"]["presence"], agents["ana"]["available"], agents["ana"]["team"]) == ("online", True, "support")
    assert (agents["ben"]["presence"], agents["ben"]["available"], agents["ben"]["team"]) == ("away", False, "billing")
    assert {"support", "billing"} <= {t["name"] for t in directory["teams"]}
    assert (await hub.client.get("/api/agent/directory")).status_code == 401
