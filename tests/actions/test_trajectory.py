"""Conversation-level frustration from tracker events: trend, causes, score and the plain-words summary."""

from __future__ import annotations

from typing import Any

import pytest

from actions.trajectory import TRENDS, Trajectory, assess, describe, trend_of

LEVEL_SCORES = {"none": 0.05, "low": 0.35, "medium": 0.6, "high": 0.9}


def user(text: str, level: str = "none", intent: str = "report_problem") -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    parse["frustration"] = {"score": LEVEL_SCORES[level], "level": level}
    return {"event": "user", "text": text, "parse_data": parse}


def bot(text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def levels(*names: str) -> list[float]:
    return [LEVEL_SCORES[n] for n in names]


@pytest.mark.parametrize(
    ("history", "trend"),
    [
        ((), "calm"),
        (("none",), "calm"),
        (("low",), "calm"),
        (("high",), "rising"),  # a conversation starts calm
        (("none", "none", "none"), "calm"),
        (("low", "low", "low"), "calm"),
        (("none", "low", "medium"), "rising"),
        (("none", "none", "medium"), "rising"),  # one medium message after calm ones rises, it does not last
        (("low", "medium"), "rising"),
        (("medium", "high", "high"), "sustained"),
        (("medium", "medium"), "sustained"),
        (("high", "medium"), "sustained"),
        (("high", "high", "high", "high"), "sustained"),
        (("none", "none", "medium", "none"), "falling"),
        (("high", "low"), "falling"),
        (("high", "high", "none", "none"), "falling"),
        (("high", "high", "none", "none", "none"), "calm"),  # only the last three messages count
        (("medium", "low", "low"), "falling"),
        (("medium", "high"), "rising"),  # a clear step up while already frustrated is still rising
        (("low", "medium", "medium"), "sustained"),
        (("low", "high", "high"), "sustained"),  # it rose, then stayed: no step up in the latest message
        (("none", "high", "medium"), "sustained"),
    ],
)
def test_trend_of_the_customers_scores(history: tuple[str, ...], trend: str) -> None:
    assert trend_of(levels(*history)) == trend
    assert trend in TRENDS


def test_a_slow_climb_within_the_window_is_rising() -> None:
    assert trend_of([0.05, 0.45, 0.6]) == "rising"
    assert trend_of([0.35, 0.45, 0.55]) == "calm"  # a 0.2 climb from low: not enough, and only one frustrated


def test_a_plain_yes_no_or_request_for_a_person_does_not_calm_the_trend() -> None:
    angry = [user("my internet is down", "none"), user("WHEN is it back??", "high", "ask_status")]
    accepted = assess([*angry, user("yes", "none", "affirm"), user("no", "low", "deny")])
    assert (accepted.trend, accepted.level, accepted.messages) == ("rising", "high", 4)
    assert assess([*angry, user("get me a person please", "none", "request_human")]).trend == "rising"
    shouted = assess([*angry, user("NO!!! I said no", "high", "deny")])
    assert shouted.trend == "sustained"
    assert assess([user("yes", "none", "affirm")]) == Trajectory("calm", "none", 0.0, (), 1)


def test_a_calm_conversation_has_no_causes() -> None:
    events = [
        user("hi, my tv has no signal, could you check?"),
        bot("Noted: your TV service has no signal."),
        user("thanks, when will it be fixed?", "none", "ask_status"),
        bot("Status of the outage: open."),
    ]
    assert assess(events) == Trajectory(trend="calm", level="none", score=0.05, causes=(), messages=2)


def test_rising_frustration_is_high_at_conversation_level() -> None:
    events = [
        user("my internet is down", "none"),
        user("when will it be back?", "low", "ask_status"),
        user("this is ridiculous, HOURS now!!!", "high", "express_frustration"),
    ]
    trajectory = assess(events)
    assert (trajectory.trend, trajectory.level, trajectory.causes) == ("rising", "high", ("rising_frustration",))
    assert trajectory.score == pytest.approx(0.9)


def test_sustained_frustration() -> None:
    events = [user("useless", "high", "express_frustration"), user("still nothing???", "high", "ask_status")]
    trajectory = assess(events)
    assert (trajectory.trend, trajectory.causes) == ("sustained", ("sustained_frustration",))
    assert trajectory.level == "high"


def test_falling_frustration_keeps_a_medium_conversation_level_for_a_while() -> None:
    events = [user("NOTHING WORKS", "high", "express_frustration"), user("ok thanks, that helps", "none", "thank")]
    trajectory = assess(events)
    assert (trajectory.trend, trajectory.causes, trajectory.level) == ("falling", (), "low")
    assert trajectory.score == pytest.approx(0.475)


def test_the_same_problem_told_again_is_a_cause_by_service_and_symptom() -> None:
    events = [user("my internet is down since this morning"), user("I told you, the internet is NOT working")]
    trajectory = assess(events)
    assert trajectory.causes == ("repeated_problem",)
    assert trajectory.trend == "calm" and trajectory.score == pytest.approx(0.15)


def test_the_same_problem_told_again_is_a_cause_by_shared_words() -> None:
    # describe_problem names no service for a parcel: the shared words tell it is the same problem.
    events = [user("my parcel hasn't arrived yet"), user("where is my parcel? it hasn't arrived")]
    assert assess(events).causes == ("repeated_problem",)


def test_different_problems_and_short_replies_are_not_repeats() -> None:
    events = [
        user("my internet is down"),
        user("and I was charged twice on my bill"),
        user("yes", intent="affirm"),
        user("yes", intent="affirm"),
    ]
    assert assess(events).causes == ()


@pytest.mark.parametrize(
    "events",
    [
        [user("blorp zing", intent="nlu_fallback"), action("utter_default"), bot("I didn't follow that.")],
        [user("hmm"), action("action_default_fallback")],
    ],
)
def test_a_bot_fallback_is_a_cause(events: list[dict[str, Any]]) -> None:
    trajectory = assess(events)
    assert trajectory.causes == ("bot_fallback",)
    assert trajectory.score == pytest.approx(0.15)


def test_the_same_bot_answer_twice_is_a_cause() -> None:
    events = [
        user("my tv has no signal"),
        bot("Got it: your TV service has no signal."),
        user("and?", intent="ask_status"),
        bot("Got it:  your TV service has NO signal."),  # the same text, spacing and case aside
    ]
    assert assess(events).causes == ("repeated_bot_answer",)


def test_causes_add_up_in_the_score_and_keep_their_order() -> None:
    events = [
        user("my wifi keeps dropping", "medium"),
        bot("Noted: your internet connection keeps dropping."),
        user("zzz", "medium", "nlu_fallback"),
        action("utter_default"),
        user("MY WIFI KEEPS DROPPING!!!", "medium"),
        bot("Noted: your internet connection keeps dropping."),
    ]
    trajectory = assess(events)
    assert trajectory.causes == ("sustained_frustration", "repeated_problem", "bot_fallback", "repeated_bot_answer")
    assert (trajectory.score, trajectory.level) == (0.9, "high")  # 0.6, and 0.1 for each of three causes


def test_no_customer_message_and_no_frustration_data() -> None:
    assert assess([]) == Trajectory(trend="calm", level="none", score=0.0, causes=(), messages=0)
    bare = [{"event": "user", "text": "hello"}, {"event": "user", "text": "hi", "parse_data": {"frustration": None}}]
    assert assess(bare) == Trajectory(trend="calm", level="none", score=0.0, causes=(), messages=2)
    assert assess([action("action_listen"), {"event": "slot", "name": "x", "value": 1}]).messages == 0


def test_as_dict_is_what_the_hub_stores() -> None:
    trajectory = assess([user("down AGAIN!!!", "high")])
    assert trajectory.as_dict() == {"trend": "rising", "level": "high", "score": 0.9, "causes": ["rising_frustration"]}


def test_describe_in_plain_words() -> None:
    assert describe(assess([])) == "Conversation: no customer messages yet."
    calm = assess([user("hi, my tv has no signal")])
    assert describe(calm) == "Conversation: no rising frustration (now none)."
    events = [
        user("my parcel hasn't arrived yet", "low"),
        user("zzz", "low", "nlu_fallback"),
        user("WHERE is my parcel? it hasn't arrived!!!", "high"),
    ]
    assert describe(assess(events)) == (
        "Conversation: frustration rising (now high); they had to tell us the same problem again "
        "and the bot did not understand them."
    )
