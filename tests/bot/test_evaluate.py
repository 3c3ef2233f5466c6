"""scripts/evaluate.py: the figures `make eval` prints are computed right."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import binary_scores, read_nlu_test, sample  # noqa: E402


def test_binary_scores() -> None:
    truth = [True, True, False, False, True]
    predicted = [True, False, True, False, True]
    assert binary_scores(truth, predicted) == {
        "precision": pytest.approx(2 / 3, abs=1e-4),
        "recall": pytest.approx(2 / 3, abs=1e-4),
        "f1": pytest.approx(2 / 3, abs=1e-4),
        "n": 5,
        "positives": 3,
    }
    assert binary_scores([False], [False])["f1"] == 0.0


def test_the_held_out_file_is_labelled_and_never_trained_on() -> None:
    examples = read_nlu_test(ROOT / "tests" / "nlu" / "test_nlu.yml")
    assert len(examples) >= 12 * 12
    assert all(e["frustration"] in {"none", "low", "medium", "high"} for e in examples)
    trained = {e["text"].strip().lower() for e in read_nlu_test(ROOT / "data" / "nlu")}
    assert [e["text"] for e in examples if e["text"].strip().lower() in trained] == []


def test_sample_is_reproducible() -> None:
    rows = [{"i": str(i)} for i in range(100)]
    assert sample(rows, 10) == sample(rows, 10) and len(sample(rows, 10)) == 10
    assert sample(rows, 0) == rows
