"""The bot failing is never silent: with the action server down, Rasa's REST channel answers an empty
200, and the hub gives the customer an honest reply and queues the conversation for a person."""

from __future__ import annotations

import uuid

import httpx
from test_whole_loop import say, texts

from handoff.flows import BOT_UNAVAILABLE
from tests.e2e.conftest import chat


def test_with_the_action_server_down_the_customer_is_told_and_queued(stack, hub: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    sender = str(uuid.uuid4())
    assert texts(say(hub, sender, "hi"), "bot")  # the bot answers while everything runs
    stack.stop_actions()
    try:
        answer = say(hub, sender, "my internet has been down since this morning")  # needs action_apologize
    finally:
        stack.start_actions()
    assert texts(answer, "bot") == []
    [notice] = texts(answer, "system")
    assert notice.startswith(BOT_UNAVAILABLE), notice
    assert chat(hub, sender)["state"] in ("queued", "agent")  # "agent": the hub gave it to an agent online
