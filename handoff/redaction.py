"""Personal data out of customer text before it enters the trainers' inbox or an export (issue 7; pure, no I/O).

`redact` replaces emails, phone numbers, card numbers and bank account numbers with fixed marks (`[email]`,
`[phone]`, `[card]`, `[account]`) and order ids with the value `ORD-00000`, recorded as an `order_id` entity so
an export keeps the annotation; `to_rasa_example` writes the result as a Rasa NLU example, `[ORD-00000](order_id)`.
Everything is fixed, so one message always redacts to one text and exports dedupe.

How a span is chosen:
- Cards: 13-19 digits passing the Luhn check, first digit not 0, written as one group, digit by digit or in
  groups of 3-6 with single spaces or dashes between them (4111 1111 1111 1111, 3782 822463 10005).
- Accounts: an IBAN whose check digits hold (`GB82 WEST 1234 5698 7654 32`); 6+ digits after an account cue
  ("account number", "acct", "a/c") or a sort code after "sort code"; and any other run of 9+ digits (single
  spaces or dashes between groups; a group of 3+ digits among them, or 13+ digits in all) that nothing else
  explains, such as a 16-digit number failing the Luhn check. Of such a run, what is left beside a card or
  phone stays if under 6 digits (the "2" of "4111 1111 1111 1111 2 times").
- Phones: international (`+44 20 7946 0958`, `0044 ...`, 8-15 digits), national with a trunk 0 (`07700 900123`,
  `(020) 7946 0958`), North American with an area code (`(202) 555-0143`, `202-555-0143`) and Portuguese
  (`912 345 678`). One kind of separator throughout (a date and a time side by side are not a number), not
  starting inside a longer run of digits, and not taking a following number ("07700 900123 25 times") or a
  trailing single-digit group ("... 0958 2 times").
- Order ids: `ORD-12345`, `ord 12345`, `ORD12345`, and 4-20 digits after "order", "order #", "order number",
  "order no." (the cue words stay: "order number ORD-00000").
- Never: times (10:30), dates (2026-11-29, 29/11/2026, 29.11.2026), money (£12.50, $1,200, 40 €), percentages,
  short numbers, incident and customer ids (INC-2041, C-1001). Dates, times, money and percentages are claimed
  as "kept" spans, so no other rule takes them.
- Overlaps: the longest span wins; on a tie the more specific kind (mark already there, email, IBAN, order id,
  card, account cue, phone, kept text). Spans never overlap.

Redaction is repeated until the text no longer changes (twice, nearly always), so it is idempotent:
`redact(redact(x).text) == redact(x)`. `found` therefore counts the marks and order ids in the redacted text,
a mark the customer typed included; never the original values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "ORDER_ID_ENTITY",
    "ORDER_ID_PLACEHOLDER",
    "PLACEHOLDERS",
    "EntitySpan",
    "Found",
    "Redacted",
    "redact",
    "to_rasa_example",
]

PLACEHOLDERS = MappingProxyType({"email": "[email]", "phone": "[phone]", "card": "[card]", "account": "[account]"})
ORDER_ID_PLACEHOLDER = "ORD-00000"
ORDER_ID_ENTITY = "order_id"
MAX_PASSES = 8  # a pass that changes the text redacts at least one more span; real messages settle in two


class EntitySpan(NamedTuple):
    start: int  # offsets in the redacted text
    end: int
    entity: str  # always ORDER_ID_ENTITY today


class Found(NamedTuple):
    """How many of each kind the redacted text holds (audit and statistics); never the values themselves."""

    email: int = 0
    phone: int = 0
    card: int = 0
    account: int = 0
    order_id: int = 0


@dataclass(frozen=True)
class Redacted:
    text: str
    entities: tuple[EntitySpan, ...]  # ORD-00000 spans in `text`, in order
    found: Found


class _Span(NamedTuple):
    start: int
    end: int
    rank: int  # on equal length, the lower rank wins
    kind: str  # a PLACEHOLDERS key, ORDER_ID_ENTITY, or _KEEP
    replacement: str | None  # None: the text stays as it is


_KEEP = "keep"
_RANK = {
    "mark": 0,
    "email": 1,
    "iban": 2,
    ORDER_ID_ENTITY: 3,
    "card": 4,
    "account_cue": 5,
    "phone": 6,
    _KEEP: 7,
    "run": 8,
}

_SEP = " \u00a0.-"  # what may separate the digit groups of a phone number (NBSP: pasted numbers have it)
_MARK = re.compile(r"\[(?:email|phone|card|account)\]")
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[\w-]+\.)+[^\W\d_]{2,}(?![\w-])")
_ORDER = re.compile(
    r"(?<![\w-])(?P<whole>ORD[-_ ]?#?\d{4,20})(?![\w-])"
    r"|\border(?:\s+(?:number|num|no\.?|nr\.?|id|ref(?:erence)?))?(?:\s+is)?\s*:?\s*"
    r"(?P<id>#?\s?(?:ORD[-_ ]?)?\d{4,20})(?![\w-])",
    re.IGNORECASE,
)
_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ \u00a0]?[A-Za-z0-9]){11,30}")
_ACCOUNT_CUE = re.compile(
    r"\b(?:(?:bank\s+)?account|acct|acc|a/c)\.?(?:\s+(?:number|num|no\.?|nr\.?|#))?(?:\s+is)?\s*[:#]?\s*"
    r"(?P<id>\d(?:[ -]?\d){5,33})(?![\w])"
    r"|\bsort[- ]?code(?:\s+is)?\s*:?\s*(?P<sort>\d\d[ -]?\d\d[ -]?\d\d)(?![\w])",
    re.IGNORECASE,
)
# A phone starts after no word character, "+" or digit-and-separator, and ends before no digit.
_PHONE_START = r"(?<![\w+])(?<!\d[ \u00a0.-])"
_PHONES: tuple[tuple[re.Pattern[str], int, int, bool], ...] = (  # (pattern, fewest digits, most, international)
    (re.compile(_PHONE_START + r"(?:\+[ \u00a0]?|00)[1-9](?:[ \u00a0.-]?\(?\d\)?){6,14}(?!\d)"), 8, 16, True),
    (re.compile(_PHONE_START + r"(?:\(0\d{1,4}\)|0\d{1,4})(?:[ \u00a0.-]?\d){5,10}(?!\d)"), 10, 12, False),
    (re.compile(_PHONE_START + r"\(?[2-9]\d\d\)?[ \u00a0.-]?[2-9]\d\d[ \u00a0.-]\d{4}(?!\d)"), 10, 10, False),
    (re.compile(_PHONE_START + r"(?:9[1236]|2\d)\d(?:[ \u00a0.-]?\d){6}(?!\d)"), 9, 9, False),
)
_KEPT = re.compile(
    r"(?<![\d.,])\d{1,2}:\d\d(?::\d\d)?(?![\d:])"  # 10:30, 9:05:12
    r"|(?<![\d.,/-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d\d))(?![\d/.-]\d)"  # dates
    r"|[£$€¥][ \u00a0]?\d{1,3}(?:[,. \u00a0]\d{3})*(?:[.,]\d{1,2})?(?!\d)"  # £12.50, $1,200, € 1 200
    r"|(?<![\d.,])\d{1,3}(?:[,. \u00a0]\d{3})*(?:[.,]\d{1,2})?[ \u00a0]?(?:[£$€¥%]|(?:eur|euros?|gbp|usd|pounds?"
    r"|dollars?|percent)\b)",  # 40 €, 1.200,50 EUR, 12.5%
    re.IGNORECASE,
)
_RUN = re.compile(r"\d+(?:[ \u00a0-]\d+)*")  # digit groups with single spaces or dashes between them
_GROUP = re.compile(r"\d+")
_RUN_DIGITS = 9  # a run of this many digits that nothing explains is an account number
_LEFTOVER_DIGITS = 6  # ... and so is what remains of it beside a card or phone, if this long
_LINE_BREAK = re.compile(r"[ \t]*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+[ \t]*")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_MARK_BEFORE_ANNOTATION_SYNTAX = re.compile(r"(\[(?:email|phone|card|account)\])(?=[(\[{])")


def redact(text: str) -> Redacted:
    """`text` with its personal data replaced by fixed marks and its order ids by ORD-00000 (an `order_id` entity)."""
    for _ in range(MAX_PASSES):
        spans = _choose(text)
        redacted = _apply(text, spans)
        if redacted == text:
            break
        text = redacted
    else:
        spans = _choose(text)
    entities: list[EntitySpan] = []
    counts = dict.fromkeys(Found._fields, 0)
    shift = 0
    for span in spans:
        if span.kind == _KEEP:
            continue
        counts[span.kind] += 1
        value = span.replacement if span.replacement is not None else text[span.start : span.end]
        if span.kind == ORDER_ID_ENTITY:
            entities.append(EntitySpan(span.start + shift, span.start + shift + len(value), ORDER_ID_ENTITY))
        shift += len(value) - (span.end - span.start)
    return Redacted(_apply(text, spans), tuple(entities), Found(**counts))


def to_rasa_example(redacted: Redacted) -> str:
    """The redacted text as one line of Rasa NLU training data, order ids annotated: `[ORD-00000](order_id)`.

    Customer-typed square brackets become parentheses, so nothing the customer wrote reads as an annotation; a
    mark followed by `(`, `[` or `{` gets a space after it, for the same reason; line breaks and tabs become one
    space, and other control characters (which YAML cannot hold) are dropped. An entity's value gets the same
    treatment, marks in it included.
    """
    parts: list[str] = []
    position = 0
    for start, end, entity in redacted.entities:
        parts.append(_plain(redacted.text[position:start]))
        value = _printable(_debracket(redacted.text[start:end])).strip()
        parts.append(f"[{value}]({entity})" if value else "")
        position = end
    parts.append(_plain(redacted.text[position:]))
    return _MARK_BEFORE_ANNOTATION_SYNTAX.sub(r"\1 ", "".join(parts))


def _plain(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for mark in _MARK.finditer(text):
        pieces.append(_debracket(text[position : mark.start()]))
        pieces.append(mark.group())
        position = mark.end()
    pieces.append(_debracket(text[position:]))
    return _printable("".join(pieces))


def _printable(text: str) -> str:
    """Line breaks and tabs as one space; other control characters, lone surrogates and non-characters dropped."""
    return _UNPRINTABLE.sub("", _LINE_BREAK.sub(" ", text.replace("\t", " ")))


def _debracket(text: str) -> str:
    return text.replace("[", "(").replace("]", ")")


def _apply(text: str, spans: list[_Span]) -> str:
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(span.replacement if span.replacement is not None else text[span.start : span.end])
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def _choose(text: str) -> list[_Span]:
    """The spans to replace or keep, in text order: the longest candidates first, then the unexplained runs."""
    candidates = sorted(_candidates(text), key=lambda c: (c.start - c.end, c.rank, c.start))
    taken = bytearray(len(text))
    chosen: list[_Span] = []
    for candidate in candidates:
        if not any(taken[candidate.start : candidate.end]):
            taken[candidate.start : candidate.end] = b"\x01" * (candidate.end - candidate.start)
            chosen.append(candidate)
    chosen.extend(_unexplained_runs(text, taken))
    return sorted(chosen, key=lambda c: c.start)


def _candidates(text: str) -> Iterator[_Span]:
    for finder in _FINDERS:
        yield from finder(text)


def _marks(text: str) -> Iterator[_Span]:
    for match in _MARK.finditer(text):
        yield _Span(match.start(), match.end(), _RANK["mark"], match.group()[1:-1], None)


def _emails(text: str) -> Iterator[_Span]:
    for match in _EMAIL.finditer(text):
        yield _Span(match.start(), match.end(), _RANK["email"], "email", PLACEHOLDERS["email"])


def _orders(text: str) -> Iterator[_Span]:
    for match in _ORDER.finditer(text):
        group = "whole" if match.group("whole") is not None else "id"
        yield _Span(match.start(group), match.end(group), _RANK[ORDER_ID_ENTITY], ORDER_ID_ENTITY, ORDER_ID_PLACEHOLDER)


def _ibans(text: str) -> Iterator[_Span]:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # The pattern runs on into a following word ("... 32 thanks"): try each end at a word's end, longest first.
        ends = [i for i in range(len(candidate), 14, -1) if i == len(candidate) or not candidate[i].isalnum()]
        for end in ends:
            if not candidate[end - 1].isalnum() or not _iban_valid(candidate[:end]):
                continue
            if end == len(candidate) and match.end() < len(text) and text[match.end()].isalnum():
                continue
            yield _Span(match.start(), match.start() + end, _RANK["iban"], "account", PLACEHOLDERS["account"])
            break


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").replace("\u00a0", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isascii() or not 2 <= int(compact[2:4]) <= 98:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _account_cues(text: str) -> Iterator[_Span]:
    for match in _ACCOUNT_CUE.finditer(text):
        group = "id" if match.group("id") is not None else "sort"
        yield _Span(match.start(group), match.end(group), _RANK["account_cue"], "account", PLACEHOLDERS["account"])


def _cards(text: str) -> Iterator[_Span]:
    """Every stretch of whole digit groups holding 13-19 digits that passes the Luhn check (overlaps resolved later)."""
    for run in _RUN.finditer(text):
        if run.start() > 0 and (text[run.start() - 1] == "+" or text[run.start() - 1].isalnum()):
            continue  # +44 ...: a phone; DE89...: an IBAN
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, run.start(), run.end())]
        digits = "".join(text[start:end] for start, end in groups)
        offsets = [0]  # where each group starts in `digits`
        for start, end in groups:
            offsets.append(offsets[-1] + end - start)
        sums = _luhn_sums(digits)
        for first, (start, _) in enumerate(groups):
            if text[start] == "0":
                continue
            sizes: set[int] = set()
            for last in range(first, min(first + 19, len(groups))):
                count = offsets[last + 1] - offsets[first]
                sizes.add(offsets[last + 1] - offsets[last])
                if count > 19:
                    break
                if count >= 13 and _card_grouped(sizes) and _luhn(sums, offsets[first], offsets[last + 1]):
                    yield _Span(start, groups[last][1], _RANK["card"], "card", PLACEHOLDERS["card"])


def _card_grouped(sizes: set[int]) -> bool:
    """Written as one group, digit by digit, or in groups of 3-6 (4-4-4-4, 4-6-5, 4-4-4-4-3)."""
    return len(sizes) == 1 or all(3 <= size <= 6 for size in sizes)


def _luhn_sums(digits: str) -> tuple[list[int], list[int]]:
    """Prefix sums of the Luhn values, for a last digit at an even and at an odd position: any slice checks in O(1)."""
    last_even, last_odd = [0], [0]
    for position, ch in enumerate(digits):
        value = int(ch)
        doubled = value * 2 - 9 if value > 4 else value * 2
        last_even.append(last_even[-1] + (value if position % 2 == 0 else doubled))
        last_odd.append(last_odd[-1] + (doubled if position % 2 == 0 else value))
    return last_even, last_odd


def _luhn(sums: tuple[list[int], list[int]], start: int, end: int) -> bool:
    """Whether digits[start:end] passes the Luhn check: counted from the right, every second digit doubled."""
    prefix = sums[(end - 1) % 2]
    return (prefix[end] - prefix[start]) % 10 == 0


def _phones(text: str) -> Iterator[_Span]:
    for pattern, fewest, most, international in _PHONES:
        for match in pattern.finditer(text):
            number = match.group()
            # The pattern runs on into a following number ("07700 900123 25 times"): try each end between groups,
            # longest first, but never one leaving a last group of a single digit ("... 0958 2 times").
            ends = [len(number)] + [
                i for i in range(len(number) - 1, 0, -1) if number[i] in _SEP and number[i - 1].isdigit()
            ]
            for end in ends:
                candidate = number[:end]
                if candidate[-2] in " \u00a0" and candidate[-1].isdigit():
                    continue
                digits = sum(ch.isdigit() for ch in candidate)
                if fewest <= digits <= most and _phone_shaped(candidate, international):
                    yield _Span(match.start(), match.start() + end, _RANK["phone"], "phone", PLACEHOLDERS["phone"])
                    break


def _phone_shaped(number: str, international: bool) -> bool:
    """Balanced parentheses, one kind of separator (after the country code), and not ending in six zeros."""
    if number.count("(") != number.count(")") or number.find(")") < number.find("("):
        return False
    separators: list[str] = []
    for i, ch in enumerate(number):
        if ch in _SEP and not (number[i - 1 : i] in ("(", ")") or number[i + 1 : i + 2] in ("(", ")")):
            separators.append(" " if ch == "\u00a0" else ch)
    if international and number[0] == "+":
        separators = separators[1:]
    digits = "".join(ch for ch in number if ch.isdigit())
    return len(set(separators)) <= 1 and not digits.endswith("000000")


def _kept(text: str) -> Iterator[_Span]:
    for match in _KEPT.finditer(text):
        yield _Span(match.start(), match.end(), _RANK[_KEEP], _KEEP, None)


def _unexplained_runs(text: str, taken: bytearray) -> Iterator[_Span]:
    """Runs of 9+ digits (one group of 3+ among them, or 13+ digits): what no chosen span explains is an account.

    A run no span touches is one account number; beside a card or phone, each stretch of 6+ digits left is one.
    """
    for run in _RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, run.start(), run.end())]
        sizes = [end - start for start, end in groups]
        if sum(sizes) < _RUN_DIGITS or (max(sizes) < 3 and sum(sizes) < 13):
            continue  # "0 2 4 6 8 10 12": a list of small numbers, not an identifier
        whole_run_free = not any(taken[run.start() : run.end()])
        stretch: list[tuple[int, int]] = []
        for group in [*groups, None]:
            if group is not None and not any(taken[group[0] : group[1]]):
                stretch.append(group)
                continue
            digits = sum(end - start for start, end in stretch)
            if stretch and (whole_run_free or digits >= _LEFTOVER_DIGITS):
                yield _Span(stretch[0][0], stretch[-1][1], _RANK["run"], "account", PLACEHOLDERS["account"])
            stretch = []


_FINDERS: tuple[Callable[[str], Iterator[_Span]], ...] = (
    _marks,
    _emails,
    _orders,
    _ibans,
    _account_cues,
    _cards,
    _phones,
    _kept,
)
