"""bot.frustration: the FrustrationScorer graph component, trained and run through Rasa's storage."""

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.frustration import FrustrationScorer, label_of, level_for

CALM = [
    "hi, my internet seems to be down, could you check?",
    "hello, when will the tv be back?",
    "thanks, that helps",
    "could you look at my bill please",
    "good morning, my wifi is a bit slow today",
    "ok, thank you",
]
ANGRY = [
    "THIS IS THE THIRD TIME I'VE WRITTEN!!!",
    "unbelievable. down AGAIN??",
    "wtf, two hours and nothing",
    "great, just great. worst service ever",
    "I'm done with you people, cancel everything",
    "fix it NOW",
]


def example(text: str, level: str) -> Message:
    return Message.build(text, "report_problem", None, {"frustration": level}, None)


@pytest.fixture()
def scorer_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    storage = LocalModelStorage(tmp_path)
    resource = Resource("frustration_scorer")
    context = ExecutionContext(GraphSchema({}), "test")

    def make(config: dict | None = None, trained: bool = True) -> FrustrationScorer:  # type: ignore[type-arg]
        scorer = FrustrationScorer.create(
            {**FrustrationScorer.get_default_config(), **(config or {})}, storage, resource, context
        )
        if trained:
            data = TrainingData([example(t, "none") for t in CALM] + [example(t, "high") for t in ANGRY])
            scorer.train(data)
            return FrustrationScorer.load(FrustrationScorer.get_default_config(), storage, resource, context)
        return scorer

    return make


def test_trained_scorer_ranks_angry_above_calm_and_puts_it_on_the_message(scorer_factory) -> None:  # type: ignore[no-untyped-def]
    scorer = scorer_factory()
    calm, angry = (
        Message.build("hello, my internet is down, can you check please?"),
        Message.build("INTERNET DOWN AGAIN!!! wtf"),
    )
    scorer.process([calm, angry])
    assert calm.get("frustration")["score"] < angry.get("frustration")["score"]
    assert angry.get("frustration")["level"] in {"medium", "high"}
    assert calm.get("frustration")["level"] in {"none", "low"}
    assert "frustration" in angry.as_dict(only_output_properties=True)
    assert angry.features[0].features.shape == (1, 384)


def test_training_without_both_kinds_of_label_fails_clearly(scorer_factory) -> None:  # type: ignore[no-untyped-def]
    scorer = scorer_factory(trained=False)
    with pytest.raises(ValueError, match=r"calm .* and frustrated"):
        scorer.train(TrainingData([example(t, "none") for t in CALM]))


def test_bad_labels_and_thresholds_are_rejected(scorer_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="not one of"):
        label_of(example("hi", "furious"))
    with pytest.raises(ValueError, match="thresholds"):
        scorer_factory({"thresholds": {"low": 0.5, "medium": 0.4, "high": 0.9}}, trained=False)


def test_levels_follow_the_thresholds() -> None:
    thresholds = {"low": 0.3, "medium": 0.55, "high": 0.8}
    assert [level_for(s, thresholds) for s in (0.0, 0.3, 0.6, 0.8, 1.0)] == ["none", "low", "medium", "high", "high"]
