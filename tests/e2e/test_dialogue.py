"""The dialogue rules of Candor through the real Rasa server, action server and hub."""

from __future__ import annotations

import uuid

import httpx
from test_whole_loop import say, texts

from actions.wording import is_plain
from tests.e2e.conftest import chat


def bot_says(hub: httpx.Client, sender: str, text: str, customer_id: str = "C-1001") -> str:
    reply = " ".join(texts(say(hub, sender, text, customer_id), "bot"))
    assert reply, f"no bot answer to {text!r}"
    return reply


def test_asked_if_it_is_a_bot_it_says_so_and_a_yes_reaches_a_person(hub: httpx.Client) -> None:
    sender = str(uuid.uuid4())
    answer = bot_says(hub, sender, "be honest, did a human write this or is it automated?")
    assert "automated" in answer and "not a person" in answer
    handoff = bot_says(hub, sender, "yes")
    assert "handing you to a person" in handoff or "Nobody from the team is online" in handoff, handoff
    assert chat(hub, sender)["state"] in ("queued", "agent")  # "agent": the hub gave it to an agent online


def test_frustration_after_the_apology_gets_a_person_offered_not_a_second_apology(hub: httpx.Client) -> None:
    sender = str(uuid.uuid4())
    first = bot_says(hub, sender, "my tv has had no signal since yesterday evening")
    assert not is_plain(first) and "TV" in first
    second = bot_says(hub, sender, "this is absolutely ridiculous!!! nothing ever works with you people")
    assert is_plain(second) and "person" in second, second
    assert "keep going" in bot_says(hub, sender, "no")


def test_after_stop_apologizing_no_bot_message_apologises(hub: httpx.Client) -> None:
    sender = str(uuid.uuid4())
    assert not is_plain(bot_says(hub, sender, "the internet keeps cutting out since this morning"))
    later = [
        bot_says(hub, sender, "please stop apologising, it doesn't help"),
        bot_says(hub, sender, "I was also charged twice on my last bill"),
        bot_says(hub, sender, "when will the internet be fixed?"),
        bot_says(hub, sender, "hi"),
    ]
    assert [t for t in later if not is_plain(t)] == []
