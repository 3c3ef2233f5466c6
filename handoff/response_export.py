"""From accepted response candidates to the bot's domain (pure, no I/O; docs/trainers.md, "Response candidates").

Rasa keeps responses in the domain, so an accepted candidate goes into `domain.yml`'s `responses:`: as one more
variation of the response the trainer chose (Rasa picks one of a response's variations at random), or as a new
response. The file is edited, not rewritten: every other line, comment and quote stays as it was, and the result
is read back and compared with what was meant before anything is written. A text the response already has (case
and spacing aside) is not written twice.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from handoff.nlu_export import normalised
from handoff.schemas import ResponseCandidate

__all__ = ["DOMAIN_FILE", "ResponsePlan", "actions_in", "load_domain", "plan_responses", "unused", "with_responses"]

DOMAIN_FILE = "domain.yml"
_TOP = re.compile(r"^responses\s*:(.*)$")
_LAYOUT = (
    f"{DOMAIN_FILE}'s responses are not laid out as the export can add to (one block of `utter_name:` keys with "
    "`- text:` variations): add the accepted responses by hand"
)


class _Strict(yaml.SafeLoader):  # type: ignore[misc]  # (PyYAML has no type hints here)
    """YAML as Rasa reads a domain: a key twice in one mapping is an error (PyYAML would keep the last)."""


def _mapping(loader: _Strict, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is there twice", key_node.start_mark)
        seen.add(key)
    return dict(loader.construct_mapping(node, deep=True))


_Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_domain(text: str) -> dict[str, Any]:
    """The domain as data; ValueError when it is not YAML Rasa would read, or its responses are not a mapping."""
    try:
        domain = yaml.load(text, Loader=_Strict)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise ValueError(f"{DOMAIN_FILE} is not valid YAML: {error}") from None
    if domain is None:
        return {}
    if not isinstance(domain, dict) or not isinstance(domain.get("responses") or {}, dict):
        raise ValueError(f"{DOMAIN_FILE}: its responses must be a mapping of response names")
    return domain


@dataclass
class ResponsePlan:
    write: list[tuple[str, str]] = field(default_factory=list)  # (response, text): variations to add
    exported: list[int] = field(default_factory=list)  # candidates written, or already in the domain


def _variations(domain: dict[str, Any]) -> set[tuple[str, str]]:
    responses = domain.get("responses") or {}
    return {
        (name, normalised(variation["text"]))
        for name, variations in responses.items()
        for variation in variations or []
        if isinstance(variation, dict) and isinstance(variation.get("text"), str)
    }


def plan_responses(candidates: Sequence[ResponseCandidate], domain_text: str) -> ResponsePlan:
    """What an export of these accepted candidates adds to the domain, and which of them it counts as done."""
    known = _variations(load_domain(domain_text))
    plan = ResponsePlan()
    for candidate in candidates:
        if candidate.response is None or candidate.accepted_text is None:
            raise ValueError(f"response candidate {candidate.id} is not accepted")
        key = (candidate.response, normalised(candidate.accepted_text))
        if key not in known:
            known.add(key)
            plan.write.append((candidate.response, candidate.accepted_text))
        plan.exported.append(candidate.id)
    return plan


def actions_in(document: Any) -> set[str]:
    """The actions a Rasa stories or rules file's steps name (`- action: utter_x`), wherever they are nested."""
    if isinstance(document, dict):
        named = {document["action"]} if isinstance(document.get("action"), str) else set()
        return named.union(*(actions_in(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(actions_in(value) for value in document))
    return set()


def unused(additions: Sequence[tuple[str, str]], domain_text: str, used: set[str]) -> list[str]:
    """The new responses among `additions` that no rule or story uses (`used`): the bot would never say them.
    (Rasa 3.6's `rasa data validate --fail-on-warnings` warns of them but passes.)"""
    known = set(load_domain(domain_text).get("responses") or {})
    return sorted({name for name, _ in additions if name not in known and name not in used})


def with_responses(domain_text: str, additions: Sequence[tuple[str, str]]) -> str:
    """The domain's text with each (response, text) added as a variation (a new response when the domain has
    none of that name); ValueError when its `responses:` are laid out so that adding lines would not mean that."""
    expected = copy.deepcopy(load_domain(domain_text))
    if expected.get("responses") is None:
        expected["responses"] = {}
    for name, text in additions:
        expected["responses"].setdefault(name, []).append({"text": text})
    newline = "\r\n" if "\r\n" in domain_text else "\n"
    lines = domain_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    tops = [i for i, line in enumerate(lines) if _TOP.match(line)]
    if len(tops) > 1 or (tops and _TOP.match(lines[tops[0]])[1].split("#")[0].strip()):  # type: ignore[index]
        raise ValueError(_LAYOUT)  # responses twice, or in flow style (`responses: {...}`)
    for name, text in additions:
        _add(lines, name, text, newline)
    result = "".join(lines)
    try:
        meant = load_domain(result) == expected
    except ValueError:
        meant = False
    if not meant:
        raise ValueError(_LAYOUT)
    return result


def _add(lines: list[str], name: str, text: str, newline: str) -> None:
    start = next((i for i, line in enumerate(lines) if _TOP.match(line)), None)
    if start is None:
        lines += [newline, "responses:" + newline]
        start = len(lines) - 1
    end = _block_end(lines, start + 1, 0)
    keys = [i for i in range(start + 1, end) if re.match(r"^\s+\S[^:]*:\s*(?:#.*)?$", lines[i])]
    indent = _indent(lines[keys[0]]) if keys else 2
    variation = f"- text: {json.dumps(text)}{newline}"  # JSON's escapes are YAML's; ASCII, so no line break hides
    at = next((i for i in keys if lines[i].strip().split(":")[0] == name and _indent(lines[i]) == indent), None)
    dashes = [_indent(lines[i]) for i in range(start + 1, end) if lines[i].lstrip().startswith("- ")]
    dash = dashes[0] if dashes else indent * 2  # as the block's variations are indented
    if at is None:
        lines[end:end] = [" " * indent + f"{name}:{newline}", " " * dash + variation]
    else:
        lines.insert(_block_end(lines, at + 1, indent), " " * dash + variation)


def _block_end(lines: list[str], first: int, indent: int) -> int:
    """Where the block of lines indented more than `indent` from `first` ends (a key's value may also be a list
    at the key's own indentation), before its trailing blank lines and the comments of whatever follows."""
    end = first
    while end < len(lines) and (_inside(lines[end], indent) or _comment_inside(lines, end, indent)):
        end += 1
    while end > first and (
        not lines[end - 1].strip() or (lines[end - 1].lstrip().startswith("#") and _indent(lines[end - 1]) <= indent)
    ):
        end -= 1
    return end


def _inside(line: str, indent: int) -> bool:
    return not line.strip() or _indent(line) > indent or (indent > 0 and line.startswith(" " * indent + "- "))


def _comment_inside(lines: list[str], at: int, indent: int) -> bool:
    """A comment line at or left of `indent` that is followed, past blanks and comments, by a line of the block."""
    if not lines[at].lstrip().startswith("#"):
        return False
    for line in lines[at + 1 :]:
        if line.strip() and not line.lstrip().startswith("#"):
            return _inside(line, indent)
    return False


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
