"""Personal data out of customer text before the trainers' inbox and exports (handoff/redaction.py)."""

from __future__ import annotations

import random
import re

import pytest

from handoff.redaction import ORDER_ID_PLACEHOLDER, PLACEHOLDERS, EntitySpan, Found, Redacted, redact, to_rasa_example

# Rasa 3.6's own pattern for inline annotations (rasa/shared/nlu/training_data/entities_parser.py, ENTITY_REGEX):
# `[text](entity)`, `[text](entity:value)`, `[text]{"entity": ...}` and `[text][{...}, {...}]`.
RASA_ANNOTATION = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)|\{(?P<entity_dict>[^}]+?)\}"
    r"|\[(?P<list_entity_dicts>.*?)\])"
)

NOTHING_TO_REDACT = [
    "my internet has been down since 10:30, that's 2 hours now",
    "it started at 9:05:12 and again at 18:00",
    "on 2026-11-29 and on 29/11/2026 and on 29.11.2026 and 29-11-2026",
    "you charged me £12.50 twice, then $1,200, then 40 €, then 1.200,50 EUR",
    "speed dropped by 12.5% and then 30 %",
    "i called 3 times, waited 45 minutes, 2 days in a row",
    "incident INC-2041 again? customer C-1001 here",
    "restarted the router 10 times; channels 101, 102 and 103 and 0 2 4 6 8 10 12 are gone",
    "my order 2 hours ago, order 2026-11-29",
    "account for 2 days, account 12345",
    "@candor jane@localhost v1.2.3 version 10.4.1",
    "555-0143",
    "",
]


def assert_redacts(text: str, expected: str) -> Redacted:
    result = redact(text)
    assert result.text == expected
    return result


@pytest.mark.parametrize(
    "email",
    [
        "jane@example.com",
        "Jane.Doe+promo@mail.example.co.uk",
        "JOHN_SMITH-99@sub.domain.example.org",
        "josé.silva@exemplo.pt",
    ],
)
def test_an_email_becomes_the_email_mark(email: str) -> None:
    result = assert_redacts(f"write to {email}, please.", "write to [email], please.")
    assert result.found == Found(email=1) and result.entities == ()


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+1-202-555-0143",
        "+1 (202) 555-0143",
        "+44 (0)20 7946 0958",
        "+351 912 345 678",
        "+447700900123",
        "0044 20 7946 0958",
        "(020) 7946 0958",
        "020 7946 0958",
        "07700 900123",
        "07700-900-123",
        "(202) 555-0143",
        "202-555-0143",
        "202.555.0143",
        "912 345 678",
        "213456789",
    ],
)
def test_a_phone_number_becomes_the_phone_mark(phone: str) -> None:
    result = assert_redacts(f"call me on {phone} after 18:00", "call me on [phone] after 18:00")
    assert result.found == Found(phone=1)


def test_a_phone_number_leaves_a_following_small_number_and_punctuation_alone() -> None:
    assert_redacts("tel:07700900123.", "tel:[phone].")
    assert_redacts("rang +44 20 7946 0958 2 times", "rang [phone] 2 times")
    assert_redacts("ring 07700 900123 25 times", "ring [phone] 25 times")


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",  # Visa
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",  # Mastercard
        "3782 822463 10005",  # American Express, 15 digits
        "6011 1111 1111 1117",  # Discover
        "4222222222222",  # 13 digits
    ],
)
def test_a_card_number_passing_the_luhn_check_becomes_the_card_mark(card: str) -> None:
    result = assert_redacts(f"my card {card} was charged", "my card [card] was charged")
    assert result.found == Found(card=1)


def test_a_card_keeps_its_expiry_and_neighbours() -> None:
    assert_redacts("card 4111 1111 1111 1111 12/27 cvc 123", "card [card] 12/27 cvc 123")
    assert_redacts("used 4111 1111 1111 1111 2 times", "used [card] 2 times")
    three = assert_redacts("5555 5555 5555 4444 3782 822463 10005 6011-1111-1111-1117", "[card] [card] [card]")
    assert three.found == Found(card=3)


def test_a_long_number_failing_the_luhn_check_is_an_account_number() -> None:
    result = assert_redacts("card 4111 1111 1111 1112 declined", "card [account] declined")
    assert result.found == Found(account=1)
    assert_redacts("the number 123456789012 on my letter", "the number [account] on my letter")


def test_any_other_run_of_nine_digits_is_taken_for_an_account_number() -> None:
    assert redact("my customer number is 4587345123").text == "my customer number is [account]"
    assert redact("Spanish mobile 612 345 678").text == "Spanish mobile [account]"
    assert redact("channels 101 102 103 are gone").text == "channels [account] are gone"  # the price of the rule


@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "PT50 0002 0123 1234 5678 9015 4",
        "FR14 2004 1010 0505 0001 3M02 606",
    ],
)
def test_an_iban_becomes_the_account_mark(iban: str) -> None:
    result = assert_redacts(f"refund to {iban} thanks", "refund to [account] thanks")
    assert result.found == Found(account=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("account number 12345678", "account number [account]"),
        ("acct 12345678", "acct [account]"),
        ("Account No. 00123456", "Account No. [account]"),
        ("a/c: 87654321", "a/c: [account]"),
        ("my bank account is 12-345-678", "my bank account is [account]"),
        ("sort code 12-34-56", "sort code [account]"),
    ],
)
def test_digits_after_an_account_cue_become_the_account_mark(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ORD-12345", "ORD-00000"),
        ("ord 12345", "ORD-00000"),
        ("ORD12345", "ORD-00000"),
        ("order #12345", "order ORD-00000"),
        ("order number 98765", "order number ORD-00000"),
        ("Order No. 98765", "Order No. ORD-00000"),
        ("order #00004587345 — where is it??", "order ORD-00000 — where is it??"),
        ("order ORD-12345", "order ORD-00000"),
    ],
)
def test_an_order_id_becomes_the_order_id_entity(text: str, expected: str) -> None:
    result = assert_redacts(text, expected)
    start = expected.index(ORDER_ID_PLACEHOLDER)
    assert result.entities == (EntitySpan(start, start + len(ORDER_ID_PLACEHOLDER), "order_id"),)
    assert result.found == Found(order_id=1)


@pytest.mark.parametrize("text", NOTHING_TO_REDACT)
def test_times_dates_money_percentages_small_numbers_and_ids_stay(text: str) -> None:
    assert redact(text) == Redacted(text, (), Found())


def test_a_mixed_message_redacts_every_kind_and_records_where_the_order_ids_are() -> None:
    text = (
        "Hi, order ORD-55821 and ord 55822 never came. Card 4111 1111 1111 1111 was charged £49.99 on "
        "2026-11-29 at 10:30; refund to GB82 WEST 1234 5698 7654 32 or acct 12345678. "
        "Mail jane.doe+orders@mail.example.com or call +44 20 7946 0958 / 07700 900123."
    )
    result = redact(text)
    assert result.text == (
        "Hi, order ORD-00000 and ORD-00000 never came. Card [card] was charged £49.99 on "
        "2026-11-29 at 10:30; refund to [account] or acct [account]. "
        "Mail [email] or call [phone] / [phone]."
    )
    assert result.found == Found(email=1, phone=2, card=1, account=2, order_id=2)
    assert [result.text[start:end] for start, end, _ in result.entities] == [ORDER_ID_PLACEHOLDER] * 2
    assert {entity for _, _, entity in result.entities} == {"order_id"}


def test_marks_are_the_fixed_strings_and_found_never_holds_a_value() -> None:
    assert PLACEHOLDERS == {"email": "[email]", "phone": "[phone]", "card": "[card]", "account": "[account]"}
    first, second = redact("mail a@example.com"), redact("mail b@example.org")
    assert first == second  # identical outputs, so exports dedupe
    assert first.found._asdict() == {"email": 1, "phone": 0, "card": 0, "account": 0, "order_id": 0}


@pytest.mark.parametrize(
    "text",
    [
        *NOTHING_TO_REDACT,
        "order ORD-55821, card 4111 1111 1111 1111, jane@example.com, +44 20 7946 0958",
        "[email] typed by the customer, ORD-00000 too, and [phone](work)",
        "4111 1111 1111 1111 07700 900123 1234 5678 9012 3456 7",
        "10.30 07700 900123",
        "a@b.co07700900123ORD-12345",
    ],
)
def test_redacting_twice_changes_nothing(text: str) -> None:
    once = redact(text)
    assert redact(once.text) == once


def test_marks_and_order_ids_already_in_the_text_are_counted_as_found() -> None:
    result = redact("[email] and ORD-00000")
    assert result.text == "[email] and ORD-00000"
    assert result.found == Found(email=1, order_id=1)
    assert result.entities == (EntitySpan(12, 21, "order_id"),)


def test_the_rasa_example_annotates_order_ids_inline() -> None:
    example = to_rasa_example(redact("where is order #12345? mail jane@example.com"))
    assert example == "where is order [ORD-00000](order_id)? mail [email]"
    assert [m["entity_text"] for m in RASA_ANNOTATION.finditer(example)] == [ORDER_ID_PLACEHOLDER]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see [x](y) and [foo]{bar} and [a][b]", "see (x)(y) and (foo){bar} and (a)(b)"),
        ("[email](work) [phone]{x} [card][account]", "[email] (work) [phone] {x} [card] [account]"),
        ("jane@example.com(work) or jane@example.com[ORD-12345]", "[email] (work) or [email] ([ORD-00000](order_id))"),
        ("[ORD-12345](order_id)", "([ORD-00000](order_id))(order_id)"),
        ("unclosed [ before ORD-12345 and ] after", "unclosed ( before [ORD-00000](order_id) and ) after"),
        ("[email][ORD-00000]", "[email] ([ORD-00000](order_id))"),
    ],
)
def test_nothing_the_customer_typed_reads_as_an_annotation(text: str, expected: str) -> None:
    redacted = redact(text)
    example = to_rasa_example(redacted)
    assert example == expected
    found = [(m["entity_text"], m["entity"]) for m in RASA_ANNOTATION.finditer(example)]
    assert found == [(ORDER_ID_PLACEHOLDER, "order_id")] * len(redacted.entities)


def test_the_rasa_example_is_one_line() -> None:
    assert (
        to_rasa_example(redact("line one\r\n\nline two \u2028 ORD-12345")) == "line one line two [ORD-00000](order_id)"
    )


def test_unicode_text_keeps_its_characters_and_the_offsets_hold() -> None:
    text = "Olá! 😀 O meu email é joão.silva@exemplo.pt, telemóvel 912 345 678, encomenda nº ORD-4587 ✓"
    result = redact(text)
    assert result.text == "Olá! 😀 O meu email é [email], telemóvel [phone], encomenda nº ORD-00000 ✓"
    ((start, end, _),) = result.entities
    assert result.text[start:end] == ORDER_ID_PLACEHOLDER
    assert to_rasa_example(result).endswith("encomenda nº [ORD-00000](order_id) ✓")


def test_digits_in_other_scripts_are_still_personal_data() -> None:
    fullwidth = str.maketrans("0123456789", "".join(chr(0xFF10 + n) for n in range(10)))
    arabic_indic = str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10)))
    assert redact("cartão " + "4111 1111 1111 1111".translate(fullwidth)).text == "cartão [card]"
    assert redact("رقم " + "07700 900123".translate(arabic_indic)).text == "رقم [account]"


def test_the_empty_string() -> None:
    assert redact("") == Redacted("", (), Found())
    assert to_rasa_example(redact("")) == ""


def test_twenty_kilobytes_of_digits_and_spaces_leaves_no_long_number() -> None:
    generator = random.Random(7)
    text = " ".join(str(generator.randrange(100, 100_000)) for _ in range(4000))[:20_000]
    result = redact(text)
    assert re.search(r"\d(?:[ -]?\d){5}", result.text) is None  # what is left: stretches of under 6 digits
    assert result.found.account > 0 and redact(result.text) == result


@pytest.mark.parametrize(
    "text",
    [
        "1 " * 10_000,
        "a" * 20_000,
        "a." * 10_000 + "@",
        "a@" * 10_000,
        "+" + "1 " * 10_000,
        "(0" * 10_000,
        "order " * 4000,
        "GB82" * 5000,
    ],
)
def test_long_pathological_input_is_redacted(text: str) -> None:
    result = redact(text)
    assert redact(result.text) == result


def test_a_thousand_cards_in_a_row_are_a_thousand_cards() -> None:
    assert redact("4111 1111 1111 1111 " * 1000) == Redacted("[card] " * 1000, (), Found(card=1000))
