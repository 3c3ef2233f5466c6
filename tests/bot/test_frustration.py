"""bot.frustration: the FrustrationScorer graph component, trained and run through Rasa's storage."""

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.frustration import FrustrationScorer, label_of, level_for, read_bound_csv
from bot.frustration_model import UNKNOWN, calibrate, fit_calibration, targets_for_bound, targets_for_label

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


def test_third_party_files_train_the_steps_their_labels_speak_about(scorer_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    complaints = tmp_path / "complaints.csv"
    complaints.write_text(
        "text,complaint\n"
        "@brand my order never arrived and nobody answers,1\n"
        "@brand love the new app design,0\n"
        ",1\n"  # an empty text is skipped
    )
    sources = [
        {"path": str(complaints), "column": "complaint", "level": "low", "weight": 1.0},
        {"path": str(tmp_path / "absent.csv"), "column": "x", "level": "medium"},  # missing: trained without
    ]
    scorer = scorer_factory({"extra_data": sources})
    message = Message.build("@brand my order never arrived")
    scorer.process([message])
    assert 0.0 <= message.get("frustration")["score"] <= 1.0


def test_bad_third_party_files_and_sources_fail_clearly(scorer_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wrong_column = tmp_path / "wrong.csv"
    wrong_column.write_text("text,label\nhello,1\n")
    with pytest.raises(ValueError, match="needs `text` and `complaint` columns"):
        read_bound_csv(wrong_column, "complaint")
    bad_value = tmp_path / "bad.csv"
    bad_value.write_text("text,complaint\nhello,yes\n")
    with pytest.raises(ValueError, match="line 2: `complaint` must be 0 or 1"):
        read_bound_csv(bad_value, "complaint")
    with pytest.raises(ValueError, match="lacks"):
        scorer_factory({"extra_data": [{"path": "x.csv", "column": "c"}]}, trained=False)
    with pytest.raises(ValueError, match="level must be one of"):
        scorer_factory({"extra_data": [{"path": "x.csv", "column": "c", "level": "none"}]}, trained=False)


def test_ordinal_targets_say_only_what_a_label_implies() -> None:
    assert targets_for_label("none") == [0.0, 0.0, 0.0]
    assert targets_for_label("medium") == [1.0, 1.0, 0.0]
    # a complaint is at least low; a non-complaint is none
    assert targets_for_bound(True, "low") == [1.0, UNKNOWN, UNKNOWN]
    assert targets_for_bound(False, "low") == [0.0, 0.0, 0.0]
    # negative emotion is at least medium; its absence says only "below medium"
    assert targets_for_bound(True, "medium") == [1.0, 1.0, UNKNOWN]
    assert targets_for_bound(False, "medium") == [UNKNOWN, 0.0, 0.0]


def test_calibration_keeps_the_ranking_and_maps_to_probabilities() -> None:
    raw = np.array([0.05, 0.2, 0.4, 0.6, 0.9])
    calibration = fit_calibration(np.tile(raw, 4), np.tile(np.array([0, 0, 1, 1, 1]), 4))
    calibrated = calibrate(raw, calibration)
    assert list(np.argsort(calibrated)) == list(np.argsort(raw))
    assert calibrated[0] < 0.5 < calibrated[-1]
