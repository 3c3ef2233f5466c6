"""bot.human_request: the request-for-a-person decision, trained and run through Rasa's storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.human_request import HumanRequestClassifier, Rule, asks_for_person, decide, read_labelled_csv

ASKS = [
    "let me talk to a person",
    "can I speak to a human please",
    "get me an agent",
    "I want a real person",
    "transfer me to someone from your team",
    "is there a human I can chat with",
]
OTHER = {
    "report_problem": ["my internet is down", "the tv has no signal", "my phone keeps dropping calls"],
    "bot_challenge": ["are you a bot?", "am I talking to a machine?", "is this automated"],
    "greet": ["hello", "hi there", "good morning"],
}
RULE = Rule(threshold=0.5, keep_intents=frozenset({"bot_challenge"}), keep_below=0.8)
RANKING = [
    {"name": "request_human", "confidence": 0.6},
    {"name": "report_problem", "confidence": 0.3},
    {"name": "greet", "confidence": 0.1},
]


def test_a_confident_request_becomes_request_human_at_the_top_of_the_ranking() -> None:
    intent, ranking = decide({"name": "report_problem", "confidence": 0.7}, RANKING[1:], 0.9, RULE)
    assert intent == {"name": "request_human", "confidence": 0.9}
    # the others share what is left, in DIET's proportions, so the ranking stays a distribution
    assert ranking == [intent, {"name": "report_problem", "confidence": 0.075}, {"name": "greet", "confidence": 0.025}]


def test_diet_request_below_the_threshold_falls_to_its_next_intent() -> None:
    intent, ranking = decide(RANKING[0], RANKING, 0.2, RULE)
    assert intent == {"name": "report_problem", "confidence": 0.75}
    assert ranking == [intent, {"name": "greet", "confidence": 0.25}]


def test_a_bot_challenge_stays_a_bot_challenge_unless_it_is_clearly_a_request() -> None:
    challenge = {"name": "bot_challenge", "confidence": 0.8}
    assert decide(challenge, [challenge], 0.79, RULE) == (challenge, [challenge])
    intent, ranking = decide(challenge, [challenge], 0.95, RULE)
    assert intent == {"name": "request_human", "confidence": 0.95}
    assert ranking == [intent, {"name": "bot_challenge", "confidence": 0.05}]


def test_labelled_csv_needs_text_and_label_and_skips_other_labels(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("text,label,source\nget me a human,request_human,x\nweather?,not,y\nhelp desk,ambiguous,z\n")
    assert read_labelled_csv(good) == [("get me a human", True), ("weather?", False)]
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,intent\nhi,greet\n")
    with pytest.raises(ValueError, match="`text` and `label`"):
        read_labelled_csv(bad)


@pytest.fixture()
def classifier_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    storage = LocalModelStorage(tmp_path)
    resource = Resource("human_request")
    context = ExecutionContext(GraphSchema({}), "test")

    def make(config: dict[str, Any] | None = None) -> HumanRequestClassifier:
        settings = {**HumanRequestClassifier.get_default_config(), **(config or {})}
        classifier = HumanRequestClassifier.create(settings, storage, resource, context)
        examples = [Message.build(t, "request_human") for t in ASKS]
        examples += [Message.build(t, intent) for intent, texts in OTHER.items() for t in texts]
        classifier.train(TrainingData(examples))
        return HumanRequestClassifier.load(settings, storage, resource, context)

    return make


def diet_said(text: str, name: str) -> Message:
    message = Message.build(text)
    message.set("intent", {"name": name, "confidence": 0.9})
    message.set("intent_ranking", [{"name": name, "confidence": 0.9}])
    return message


def test_trained_classifier_overrides_diet_both_ways_and_reports_what_it_did(classifier_factory) -> None:  # type: ignore[no-untyped-def]
    classifier = classifier_factory()
    asking = diet_said("could I talk to a real person please", "report_problem")
    problem = diet_said("my internet has been down all day", "request_human")
    classifier.process([asking, problem])
    assert asking.get("intent")["name"] == "request_human"
    assert asking.get("human_request")["intent_before"] == "report_problem"
    assert asking.get("human_request")["probability"] >= 0.5 > problem.get("human_request")["probability"]
    assert problem.get("intent") == {"name": "request_human", "confidence": 0.9}  # no other intent ranked
    assert "human_request" in asking.as_dict(only_output_properties=True)


def test_extra_data_is_trained_on_when_present_and_skipped_when_missing(classifier_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "extra.csv"
    extra.write_text("text,label\n" + "".join(f"yo fetch me a supervisor mate {i},request_human\n" for i in range(8)))
    with_extra = classifier_factory({"extra_data": [str(extra), str(tmp_path / "missing.csv")]})
    without = classifier_factory()
    texts = [diet_said("yo fetch me a supervisor mate", "greet") for _ in range(2)]
    with_extra.process([texts[0]])
    without.process([texts[1]])
    assert texts[0].get("human_request")["probability"] > texts[1].get("human_request")["probability"]


def test_thresholds_out_of_order_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="threshold <= keep_below"):
        HumanRequestClassifier({"threshold": 1.5}, LocalModelStorage(tmp_path), Resource("x"))
    with pytest.raises(ValueError, match="threshold <= keep_below"):
        HumanRequestClassifier({"threshold": 0.6, "keep_below": 0.5}, LocalModelStorage(tmp_path), Resource("x"))


def test_asks_for_person_is_the_threshold_unless_diet_chose_an_intent_to_keep() -> None:
    assert asks_for_person("report_problem", 0.5, RULE)
    assert not asks_for_person("report_problem", 0.49, RULE)
    assert not asks_for_person("bot_challenge", 0.79, RULE)
    assert asks_for_person("bot_challenge", 0.8, RULE)
    assert asks_for_person(None, 0.9, Rule(0.5, frozenset(), 1.0))
