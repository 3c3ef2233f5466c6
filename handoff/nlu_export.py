"""From labelled review items to Rasa NLU training data: the domain's names, the examples `data/` holds already,
and the export's rules (docs/trainers.md, "Export").

- An item becomes one example of its label's intent, in `data/nlu/reviewed.yml` (one file per source), grouped by
  intent and frustration level (`metadata: frustration: <level>`, as data/nlu/frustration.yml does).
- Never a duplicate: a text any data file already holds under the same intent is not written again (compared
  without entity annotations, case or repeated spaces).
- Conflicts are flagged, not written: a text that a data file holds under another intent, or that two items of
  one export label differently.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from handoff.errors import BadRequest
from handoff.redaction import EntitySpan, Found, Redacted, to_rasa_example
from handoff.schemas import ReviewItem, ReviewLabelBody

__all__ = [
    "REVIEWED_FILE",
    "DomainNames",
    "Example",
    "ExportPlan",
    "check_label",
    "domain_names",
    "existing_examples",
    "normalised",
    "plan_export",
    "read_examples",
    "render",
]

REVIEWED_FILE = Path("data") / "nlu" / "reviewed.yml"
HEADER = """\
# Reviewed customer messages, redacted: written by `python -m handoff.cli review-export` from the trainers'
# review inbox (docs/trainers.md). Each export rewrites this file from the examples it holds plus the new ones
# (intent, frustration level, text): an example edited or removed here stays so, but comments are not kept.
"""
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Example:
    intent: str
    frustration: str | None
    text: str  # as Rasa writes it: entity annotations inline

    @property
    def key(self) -> str:
        return normalised(self.text)


@dataclass
class ExportPlan:
    write: list[Example] = field(default_factory=list)  # new examples, for the reviewed file
    exported: list[int] = field(default_factory=list)  # items written, or already there under their intent
    conflicts: dict[int, str] = field(default_factory=dict)  # items not written, and why


def normalised(text: str) -> str:
    """The text two examples are compared by: entity annotations dropped, case folded, spaces collapsed."""
    return _SPACES.sub(" ", _ANNOTATION.sub(r"\1", text)).strip().casefold()


class DomainNames(NamedTuple):
    intents: frozenset[str]
    entities: frozenset[str]
    responses: frozenset[str]


def domain_names(domain_file: Path) -> DomainNames:
    """The intents, entities and responses the bot's domain declares (what a label or an accepted response may
    name); read again when the file changes."""
    return _domain_names(domain_file, domain_file.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _domain_names(domain_file: Path, _modified: int) -> DomainNames:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    return DomainNames(_names(domain.get("intents")), _names(domain.get("entities")), _names(domain.get("responses")))


def _names(entries: Any) -> frozenset[str]:
    names = set()
    for entry in entries or []:
        if isinstance(entry, str):
            names.add(entry)
        elif isinstance(entry, Mapping):
            names.update(str(key) for key in entry)
    return frozenset(names)


def read_examples(path: Path) -> list[Example]:
    """The intent examples of one Rasa NLU YAML file (`examples: |` blocks or lists of `text:`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for block in data.get("nlu") or []:
        if not isinstance(block, Mapping) or not isinstance(block.get("intent"), str):
            continue
        given = block.get("metadata")
        metadata: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        frustration = metadata.get("frustration") if isinstance(metadata.get("frustration"), str) else None
        for text in _example_texts(block.get("examples")):
            found.append(Example(block["intent"], frustration, text))
    return found


def _example_texts(examples: Any) -> Iterable[str]:
    if isinstance(examples, str):
        for line in examples.splitlines():
            if line.strip().startswith("- "):
                yield line.strip()[2:].strip()
    elif isinstance(examples, list):
        for entry in examples:
            if isinstance(entry, Mapping) and isinstance(entry.get("text"), str):
                yield entry["text"].strip()


def existing_examples(nlu_folder: Path) -> dict[str, set[str]]:
    """Every example of the NLU files in the folder: its normalised text → the intents it is an example of."""
    known: dict[str, set[str]] = {}
    for path in sorted(nlu_folder.rglob("*.yml")):
        for example in read_examples(path):
            known.setdefault(example.key, set()).add(example.intent)
    return known


def example_of(item: ReviewItem) -> Example:
    """A labelled item as the example it becomes: its redacted text, the trainer's entities annotated inline."""
    spans = tuple(EntitySpan(e.start, e.end, e.entity) for e in sorted(item.entities, key=lambda e: e.start))
    text = to_rasa_example(Redacted(item.text, spans, Found())).strip()
    if item.label_intent is None:
        raise ValueError(f"review item {item.id} has no label")
    return Example(item.label_intent, item.label_frustration, text)


def plan_export(items: Sequence[ReviewItem], known: Mapping[str, set[str]]) -> ExportPlan:
    """What an export of these labelled items writes, skips as already there, and flags as conflicts."""
    plan = ExportPlan()
    examples = {item.id: example_of(item) for item in items}
    in_batch: dict[str, set[str]] = {}
    for example in examples.values():
        in_batch.setdefault(example.key, set()).add(example.intent)
    written: set[tuple[str, str]] = set()
    for item_id, example in examples.items():
        elsewhere = known.get(example.key, set()) - {example.intent}
        twins = in_batch[example.key] - {example.intent}
        if not example.key:
            plan.conflicts[item_id] = "the redacted text is empty"
        elif elsewhere:
            plan.conflicts[item_id] = f"already an example of {', '.join(sorted(elsewhere))} in data/"
        elif twins:
            plan.conflicts[item_id] = f"labelled {', '.join(sorted(twins))} in another item of this export"
        else:
            plan.exported.append(item_id)
            if example.intent not in known.get(example.key, set()) and (example.key, example.intent) not in written:
                written.add((example.key, example.intent))
                plan.write.append(example)
    return plan


def render(examples: Iterable[Example]) -> str:
    """A Rasa NLU file of the examples: one block per intent and frustration level, sorted, each text once."""
    blocks: dict[tuple[str, str], list[str]] = {}
    for example in sorted(set(examples), key=lambda e: (e.intent, e.frustration or "", e.key)):
        texts = blocks.setdefault((example.intent, example.frustration or ""), [])
        if example.text not in texts:
            texts.append(example.text)
    lines = [HEADER.rstrip("\n"), 'version: "3.1"', "", "nlu:"]
    for (intent, frustration), texts in blocks.items():
        lines.append(f"  - intent: {intent}")
        if frustration:
            lines += ["    metadata:", f"      frustration: {frustration}"]
        lines.append("    examples: |")
        lines += [f"      - {text}" for text in texts]
    if not blocks:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"


def check_label(body: ReviewLabelBody, domain_file: Path) -> None:
    """BadRequest unless the label names the domain's intents and entities, and its entities do not overlap."""
    names, entities, _ = domain_names(domain_file)
    if body.intent not in names:
        raise BadRequest(f"intent: {body.intent!r} is not an intent of the bot's domain ({', '.join(sorted(names))})")
    spans = sorted(body.entities or [], key=lambda e: e.start)
    for entity in spans:
        if entity.entity not in entities:
            raise BadRequest(f"entities: {entity.entity!r} is not an entity of the bot's domain")
    for before, after in itertools.pairwise(spans):
        if after.start < before.end:
            raise BadRequest("entities: two entities overlap")
