"""Teams' business hours and leaving a message (docs/hub-api.md, "Teams" and "Follow-ups"): a waiting customer
is told honestly when people are back, and a message with an email address becomes a follow-up task."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from handoff import models
from handoff.flows import FOLLOW_UP_TAKEN, LEAVE_A_MESSAGE
from handoff.hours import DAYS
from handoff.schemas import Team

NEVER_OPEN = Team(name="night", display_name="Night", timezone="Europe/Lisbon", hours={}, holidays=[])
ALWAYS_OPEN = Team(
    name="always",
    display_name="Always",
    timezone="Europe/Lisbon",
    hours={d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    holidays=[],
)
# Open on a morning two days from now only: closed whenever the test runs, back on a known day.
IN_TWO_DAYS = DAYS[(datetime.now(ZoneInfo("Europe/Lisbon")).weekday() + 2) % 7]
LATER_THIS_WEEK = Team(
    name="weekend", display_name="Weekend", timezone="Europe/Lisbon", hours={IN_TWO_DAYS: ["09:00-12:00"]}, holidays=[]
)


async def only_teams(hub: Any, *teams: Team) -> None:
    """Replace the seed's teams with these."""
    async with hub.repository._transaction() as session:
        await session.execute(delete(models.Team))
    await hub.repository.upsert_seed([], [], [], teams)


async def test_outside_its_teams_hours_the_customer_is_told_when_people_are_back(hub: Any) -> None:
    await only_teams(hub, LATER_THIS_WEEK)
    sender, _ = await hub.queued_conversation()
    [notice] = await hub.say(sender, "hello?")
    assert notice["custom"]["from"] == "system"
    assert notice["text"].startswith("The team is closed at the moment; people are back at 09:00 ")
    assert "(Lisbon time)" in notice["text"] and LEAVE_A_MESSAGE in notice["text"]
    queue = (await hub.poll(sender)).json()["queue"]
    assert queue["open_now"] is False and queue["opens_at"].endswith(("T09:00:00Z", "T08:00:00Z"))


async def test_a_closed_team_says_so_even_with_another_teams_agent_online(hub: Any) -> None:
    await only_teams(hub, ALWAYS_OPEN, LATER_THIS_WEEK)
    await hub.login("ana")  # online, but not in team weekend
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down")
    answer = (await hub.escalate(sender, team="weekend")).json()
    assert answer["state"] == "queued" and answer["agents_online"] == 1
    assert answer["notice"].startswith("The team is closed at the moment; people are back at 09:00 on ")


async def test_a_conversation_for_a_closed_team_waits_even_when_another_team_is_open(hub: Any) -> None:
    await only_teams(hub, ALWAYS_OPEN, LATER_THIS_WEEK)
    sender, _ = await hub.queued_conversation()
    [anyone] = await hub.say(sender, "hello?")
    assert anyone["text"].startswith("Nobody from the team is online")  # no team named: the open one counts
    other = str(uuid.uuid4())
    await hub.say(other, "my internet is down")
    assert (await hub.escalate(other, team="weekend")).json()["state"] == "queued"
    [closed] = await hub.say(other, "hello?")
    assert closed["text"].startswith("The team is closed at the moment")


async def test_a_team_with_no_hours_says_so(hub: Any) -> None:
    await only_teams(hub, NEVER_OPEN)
    sender, _ = await hub.queued_conversation()
    [notice] = await hub.say(sender, "hello?")
    assert "no opening time is set for the coming weeks" in notice["text"]


async def test_a_message_with_an_email_becomes_a_follow_up_that_an_agent_closes(hub: Any) -> None:
    await only_teams(hub, NEVER_OPEN)
    sender, conversation_id = await hub.queued_conversation()
    [thanks] = await hub.say(sender, "my router died, write to me at marta.silva@example.com please")
    assert thanks["text"] == FOLLOW_UP_TAKEN.format(email="marta.silva@example.com")
    await hub.say(sender, "or at marta@work.example.org")
    headers = await hub.login("ana")
    [task] = (await hub.client.get("/api/agent/follow-ups", headers=headers)).json()["follow_ups"]
    assert (task["conversation_id"], task["sender"], task["customer_id"], task["email"], task["state"]) == (
        conversation_id,
        sender,
        "C-1001",
        "marta@work.example.org",
        "open",
    )
    assert task["message"].splitlines() == [
        "my router died, write to me at marta.silva@example.com please",
        "or at marta@work.example.org",
    ]
    assert (await hub.repository.conversation(conversation_id)).state == "queued"  # never a silent close

    done = await hub.client.post(
        f"/api/agent/follow-ups/{task['id']}/done", json={"note": "emailed: router replaced"}, headers=headers
    )
    assert done.status_code == 200 and done.json()["follow_up"]["done_by"] == "ana"
    again = await hub.client.post(f"/api/agent/follow-ups/{task['id']}/done", json={"note": "x"}, headers=headers)
    assert again.status_code == 409
    assert (await hub.client.get("/api/agent/follow-ups", headers=headers)).json()["follow_ups"] == []
    listed = (await hub.client.get("/api/agent/follow-ups", params={"state": "done"}, headers=headers)).json()
    assert [f["note"] for f in listed["follow_ups"]] == ["emailed: router replaced"]
    actions = [a["action"] for a in await hub.repository.audit_trail(conversation_id)]
    assert actions.count("follow_up_left") == 2 and actions.count("follow_up_done") == 1


async def test_with_agents_online_and_the_team_open_an_email_is_just_a_message(hub: Any) -> None:
    await only_teams(hub, ALWAYS_OPEN)
    await hub.login("ana")
    sender, _ = await hub.queued_conversation()
    [notice] = await hub.say(sender, "mail me at marta@example.com")
    assert notice["text"].startswith(("You're next", "You're number"))
    headers = await hub.login("ben")
    assert (await hub.client.get("/api/agent/follow-ups", headers=headers)).json()["follow_ups"] == []


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"note": " "}, 400)])
async def test_a_follow_up_needs_a_note_and_must_exist(hub: Any, body: dict[str, Any], status: int) -> None:
    headers = await hub.login("ana")
    response = await hub.client.post("/api/agent/follow-ups/1/done", json=body, headers=headers)
    assert response.status_code == status
    missing = await hub.client.post("/api/agent/follow-ups/4242/done", json={"note": "x"}, headers=headers)
    assert missing.status_code == 404
    bad = await hub.client.get("/api/agent/follow-ups", params={"state": "all"}, headers=headers)
    assert bad.status_code == 400
