"""No banned phrase in any fixed text written in the bot's or the hub's Python source.

domain.yml's templates and every variant composition can build are checked in test_composition.py; this scans
the literals themselves, so a banned phrase cannot slip in through a button title, a fallback reply or a hub
notice. Scanned: every string literal, including the fixed parts of f-strings, in actions/*.py and in
handoff/flows.py (where the hub's notices to the customer are written). Docstrings are skipped, and so is
actions/wording.py, which holds the banned list itself. Log messages and dict keys are scanned too: broader than
needed, and harmless.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from actions.wording import BANNED_PHRASES, banned_phrases_in

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [
    *sorted(path for path in (ROOT / "actions").glob("*.py") if path.name != "wording.py"),
    ROOT / "handoff" / "flows.py",
]
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
# A real literal in some scanned files (the f-string's fixed part too), so that a scan finding nothing fails.
ANCHORS = {
    "actions/base.py": "Yes, get me a person",
    "actions/composition.py": "{Phrase}, which shouldn't happen. Sorry.",
    "handoff/flows.py": "; the expected wait is ",
}


def fixed_texts(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in Python source, f-string parts included, docstrings not."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, DOCUMENTED) and ast.get_docstring(node, clean=False) is not None:
            first = node.body[0]
            assert isinstance(first, ast.Expr)
            docstrings.add(id(first.value))
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", SCANNED, ids=_name)
def test_no_banned_phrase_in_fixed_texts(path: Path) -> None:
    offenders = [
        f"{_name(path)}:{line}: {phrase!r} in {text!r}"
        for line, text in fixed_texts(path.read_text())
        for phrase in banned_phrases_in(text)
    ]
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize(("name", "anchor"), ANCHORS.items())
def test_the_scan_finds_real_literals(name: str, anchor: str) -> None:
    texts = [text for _, text in fixed_texts((ROOT / name).read_text())]
    assert anchor in texts
    assert len(texts) >= 10


def test_the_scan_covers_the_sources() -> None:
    assert ROOT / "actions" / "base.py" in SCANNED and ROOT / "actions" / "wording.py" not in SCANNED
    assert sum(len(fixed_texts(path.read_text())) for path in SCANNED) >= 300


def test_the_scanner_reads_f_strings_and_skips_docstrings() -> None:
    source = (
        '"""Module docstring: rest assured."""\n'
        "def reply(name: str) -> str:\n"
        '    """Function docstring: thank you for your patience."""\n'
        '    return f"We sincerely apologise for any inconvenience, {name}"\n'
    )
    assert fixed_texts(source) == [(4, "We sincerely apologise for any inconvenience, ")]
    assert banned_phrases_in(fixed_texts(source)[0][1]) == ["we sincerely apologise for any inconvenience"]


def test_every_banned_phrase_in_source_is_caught() -> None:
    source = "\n".join("text = f" + repr(phrase.capitalize() + ", {name}.") for phrase in BANNED_PHRASES)
    found = {phrase for _, text in fixed_texts(source) for phrase in banned_phrases_in(text)}
    assert found == set(BANNED_PHRASES)
