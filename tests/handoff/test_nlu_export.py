"""handoff/nlu_export.py: the export's dedupe and conflict rules, and the Rasa files it writes and reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from handoff import nlu_export
from handoff.nlu_export import Example, normalised, plan_export, read_examples, render
from handoff.schemas import ReviewItem
from handoff.settings import ROOT

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def item(item_id: int, text: str, intent: str, frustration: str = "none", **more: Any) -> ReviewItem:
    return ReviewItem.model_validate(
        {
            "id": item_id, "message_id": item_id, "conversation_id": 1, "text": text, "entities": [],
            "context": [], "reasons": ["low_confidence"], "note": None, "intent": None, "confidence": None,
            "ranking": [], "frustration_score": None, "frustration_level": None, "state": "labelled",
            "label_intent": intent, "label_frustration": frustration, "conflict": None, "decided_by": "trainer:tess",
            "decided_at": NOW, "created_at": NOW, "exported_at": None, **more,
        }
    )  # fmt: skip


def test_texts_compare_without_annotations_case_or_spacing() -> None:
    assert normalised("Where is  [ORD-00000](order_id) NOW ") == normalised("where is ORD-00000 now")
    assert normalised("my [phone] is off") == "my [phone] is off"  # a redaction mark is text, not an annotation


def test_an_example_already_in_the_data_is_not_written_twice() -> None:
    known = {"my internet is down": {"report_problem"}}
    plan = plan_export([item(1, "My internet  is DOWN", "report_problem")], known)
    assert plan.write == [] and plan.exported == [1] and plan.conflicts == {}


def test_the_same_text_under_another_intent_is_a_conflict_not_an_example() -> None:
    known = {"my internet is down": {"report_problem"}}
    plan = plan_export([item(1, "my internet is down", "ask_status")], known)
    assert plan.write == [] and plan.exported == []
    assert plan.conflicts == {1: "already an example of report_problem in data/"}


def test_two_items_of_one_export_labelled_apart_are_both_conflicts_and_twins_are_written_once() -> None:
    items = [
        item(1, "is it fixed yet", "ask_status"),
        item(2, "Is it fixed yet", "report_problem"),
        item(3, "any news on the outage", "ask_status"),
        item(4, "any news on the outage", "ask_status", "low"),
        item(5, " ", "greet"),
    ]
    plan = plan_export(items, {})
    assert set(plan.conflicts) == {1, 2, 5}
    assert plan.conflicts[1] == "labelled report_problem in another item of this export"
    assert plan.exported == [3, 4]
    assert plan.write == [Example("ask_status", "none", "any news on the outage")]


def test_entities_are_annotated_inline_and_brackets_the_customer_typed_are_not() -> None:
    labelled = item(
        1, "where is ORD-00000 [urgent]", "ask_status", entities=[{"start": 9, "end": 18, "entity": "order_id"}]
    )
    [example] = plan_export([labelled], {}).write
    assert example.text == "where is [ORD-00000](order_id) (urgent)"


def test_the_written_file_is_rasa_nlu_data_that_reads_back_the_same(tmp_path: Path) -> None:
    examples = [
        Example("ask_status", "low", "any news on [ORD-00000](order_id)"),
        Example("ask_status", None, "is it fixed yet"),
        Example("express_frustration", "high", "this is the third time: I am done"),
        Example("ask_status", "low", "any news on [ORD-00000](order_id)"),
    ]
    path = tmp_path / "reviewed.yml"
    path.write_text(render(examples), encoding="utf-8")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    assert [(b["intent"], b.get("metadata")) for b in data["nlu"]] == [
        ("ask_status", None),
        ("ask_status", {"frustration": "low"}),
        ("express_frustration", {"frustration": "high"}),
    ]
    read = read_examples(path)
    assert len(read) == 3 and set(read) == set(examples)


def test_the_projects_data_and_domain_read_as_the_bot_has_them() -> None:
    known = nlu_export.existing_examples(ROOT / "data" / "nlu")
    assert known[normalised("Stop sounding sorry and just talk to me like a person")] == {"request_human"}
    intents, entities, responses = nlu_export.domain_names(ROOT / "domain.yml")
    assert {"request_human", "stop_apologizing", "bot_challenge"} <= intents and "order_id" in entities
    assert {"utter_greet", "utter_thank"} <= responses and not responses & intents
    frustrated = [e for e in read_examples(ROOT / "data" / "nlu" / "frustration.yml") if e.frustration == "high"]
    assert frustrated and all(e.intent for e in frustrated)
