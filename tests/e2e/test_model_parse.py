"""The trained model through the real Rasa server's /model/parse: both custom components round-trip
through `rasa train`, load once in the server and annotate every message (contracts 1 and 2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from stack import Stack


def parse(stack: Stack, text: str) -> dict[str, Any]:
    response = httpx.post(f"{stack.rasa_url}/model/parse", json={"text": text}, timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_every_parse_carries_a_frustration_score_and_level(stack: Stack) -> None:
    calm = parse(stack, "hi, my parcel hasn't arrived yet, could you check it for me?")["frustration"]
    angry = parse(stack, "THIRD time I'm writing!!! two hours on hold and still no internet, this is a joke")
    assert set(calm) == {"score", "level"} and 0 <= calm["score"] <= 1
    assert calm["level"] in ("none", "low")
    assert angry["frustration"]["level"] in ("medium", "high")
    assert angry["frustration"]["score"] > calm["score"]


@pytest.mark.parametrize(
    "text",
    [
        "put me through to someone who can actually help",
        "is there anyone real there",
        "i want to tlak to a humna",
        "stop sounding sorry and just talk to me like a person",
        "two hours without internet and your bot keeps looping, I want an actual agent now",
    ],
)
def test_requests_for_a_person_in_any_words_are_request_human(stack: Stack, text: str) -> None:
    result = parse(stack, text)
    assert result["intent"]["name"] == "request_human", result["intent_ranking"][:3]
    assert result["human_request"]["probability"] >= 0.5


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("are you a bot?", "bot_challenge"),
        ("my internet has been down since this morning", "report_problem"),
        ("what's the weather going to be like tomorrow?", "out_of_scope"),
    ],
)
def test_other_messages_are_not_taken_for_a_request_for_a_person(stack: Stack, text: str, intent: str) -> None:
    result = parse(stack, text)
    assert result["intent"]["name"] == intent, result["intent_ranking"][:3]
    assert "probability" in result["human_request"]
    confidences = [r["confidence"] for r in result["intent_ranking"]]
    assert confidences == sorted(confidences, reverse=True)
