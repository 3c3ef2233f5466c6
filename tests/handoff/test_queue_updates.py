"""A waiting customer is told again when their place or expected wait changed a lot (service.worth_telling),
by the sweeper's round; small changes are not worth a message."""

from __future__ import annotations

from typing import Any

import pytest

from handoff.schemas import QueueInfo
from handoff.service import worth_telling
from handoff.sweeper import sweep


def info(position: int, wait: int) -> QueueInfo:
    return QueueInfo(position=position, expected_wait_minutes=wait, agents_online=1)


@pytest.mark.parametrize(
    ("told", "now", "tell"),
    [
        (None, info(1, 1), False),  # told nothing yet: the escalation's notice comes first
        ((6, 30), info(5, 25), False),  # one place and five minutes: not worth a message
        ((6, 30), info(3, 28), True),  # three places up
        ((4, 8), info(2, 7), True),  # half the way
        ((2, 4), info(1, 3), True),  # half the way, to the front
        ((2, 10), info(2, 4), True),  # the wait fell by more than half
        ((2, 4), info(2, 6), False),  # two minutes more: below three
        ((2, 4), info(2, 7), True),
    ],
)
def test_what_is_worth_telling(told: tuple[int, int] | None, now: QueueInfo, tell: bool) -> None:
    assert worth_telling(told, now) is tell


async def test_a_customer_far_back_hears_when_they_move_up_and_only_then(hub: Any) -> None:
    headers = await hub.login("ana")  # online: places and waits mean something
    waiting = [await hub.queued_conversation() for _ in range(6)]
    last_sender, last_id = waiting[-1]
    assert (await sweep(hub.core)).told == []  # nothing changed since each was told at the escalation

    for _, conversation_id in waiting[:4]:
        claimed = await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=headers)
        assert claimed.status_code == 200
    swept = await sweep(hub.core)
    assert sorted(swept.told) == [waiting[4][1], last_id]  # 5th -> 1st and 6th -> 2nd: four places up each
    update = (await hub.poll(last_sender)).json()["messages"][-1]
    assert update["custom"]["from"] == "system" and update["text"].startswith("An update: You're number 2 in the queue")
    assert (await sweep(hub.core)).told == []  # told once
