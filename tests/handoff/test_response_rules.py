"""The rules of response candidates (handoff/response_candidates.py) and of writing accepted ones into the domain
(handoff/response_export.py): which replies are judged, what "worked" means, names redacted, what a trainer may
accept, and a domain edited line by line without losing anything."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml

from handoff.errors import BadRequest
from handoff.response_candidates import Reply, check_acceptance, key_of, redacted, replies, worked
from handoff.response_export import actions_in, plan_responses, unused, with_responses
from handoff.review import Prediction
from handoff.schemas import ResponseCandidate
from handoff.settings import ROOT

LONG = "I have reset your line from our side."


def prediction(intent: str, confidence: float = 0.9, level: str | None = "none") -> Prediction:
    return Prediction(intent, confidence, ((intent, confidence),), False, 0.1, level)


def test_each_reply_is_judged_by_the_customers_next_message_before_the_agent_writes_again() -> None:
    messages = [
        (1, "customer", "my line drops"),
        (2, "system", "Ana from the team has this conversation now."),
        (3, "agent", LONG),
        (4, "customer", "/affirm"),  # a button: not words, neither a reaction nor a prompt
        (5, "customer", "thanks"),
        (6, "customer", "it works"),  # only the first reaction counts
        (7, "agent", "Anything else I can check for you?"),
        (8, "agent", "Glad it is sorted, have a good evening."),  # the agent wrote again: 7 is not judged
        (9, "customer", "you too"),
        (10, "agent", "ok done"),  # too short to be a response
        (11, "customer", "bye"),
        (12, "agent", "Is there anything else at all you need from me?"),  # nobody answered
    ]
    assert replies(messages) == [
        Reply(3, LONG, "my line drops", 5, "thanks"),
        Reply(8, "Glad it is sorted, have a good evening.", "it works", 9, "you too"),
    ]
    assert replies([(1, "agent", LONG), (2, "customer", "thanks")]) == []  # it answered nothing the customer said


@pytest.mark.parametrize(
    ("reaction", "landed"),
    [
        (prediction("thank"), True),
        (prediction("affirm", 0.7), True),
        (prediction("goodbye", level=None), True),  # a bot without the frustration component
        (prediction("thank", level="low"), True),
        (prediction("thank", level="medium"), False),  # thanks, but frustrated
        (prediction("thank", 0.5), False),  # not sure it was thanks
        (prediction("report_problem"), False),
        (prediction("request_human"), False),
        (Prediction("thank", 0.62, (("thank", 0.62), ("deny", 0.55)), True, 0.1, "none"), False),  # the NLU fell back
        (None, False),
    ],
)
def test_a_reply_worked_when_the_customer_thanked_agreed_or_said_goodbye_calmly(
    reaction: Prediction | None, landed: bool
) -> None:
    assert worked(reaction, 0.6) is landed


def test_names_and_personal_data_are_redacted_from_candidates() -> None:
    names = ["Marta Silva", "Ana"]
    text = "Marta, Ana here: I emailed marta.silva@example.com about ORD-12345 (c-1001). Silva? Anatomy: none. ana?"
    assert redacted(text, names, ["C-1001"]) == (
        "[name], [name] here: I emailed [email] about ORD-00000 ([customer]). [name]? Anatomy: none. [name]?"
    )
    assert key_of("Hello  there ") == key_of("hello there") != key_of("hello there!")


def test_what_a_trainer_may_accept() -> None:
    check_acceptance("utter_line_reset", LONG, {"utter_thank"})
    for response, text, why in [
        ("line_reset", LONG, "not a response name"),
        ("utter_Line", LONG, "not a response name"),
        ("utter_x", "Hi {name}, done", "braces fill slots"),
        ("utter_x", "I emailed [email] about it", "[email] is a redaction placeholder"),
        ("utter_x", "Thanks [name]!", "[name] is a redaction placeholder"),
        ("utter_x", "Order ORD-00000 is on its way", "ORD-00000 is a redaction placeholder"),
        ("utter_x", "Your account [customer] is fine", "[customer] is a redaction placeholder"),
        ("utter_x", "Call us on 07700 900123 any time", "personal data (phone)"),
        ("utter_x", "Order ORD-12345 is on its way", "personal data (order_id)"),
        ("utter_x", " ", "empty"),
        ("utter_x", "x" * 1001, "longer than 1000"),
    ]:
        with pytest.raises(BadRequest, match=re.escape(why)):
            check_acceptance(response, text, {"utter_thank"})


def candidate(id_: int, response: str, text: str) -> ResponseCandidate:
    now = datetime.now(UTC)
    return ResponseCandidate(
        id=id_, text=text, prompt="p", reaction="thanks", reaction_intent="thank", conversation_id=1, agent="ana",
        worked=1, state="accepted", response=response, accepted_text=text, decided_by="trainer:tess",
        decided_at=now, created_at=now, exported_at=None,
    )  # fmt: skip


def test_the_projects_domain_gets_variations_and_new_responses_and_keeps_every_other_line() -> None:
    domain = (ROOT / "domain.yml").read_text()
    plan = plan_responses(
        [
            candidate(1, "utter_thank", "Glad that's sorted. Anything else?"),
            candidate(2, "utter_thank", "you're welcome.  Anything else I can check?"),  # already there
            candidate(3, "utter_line_reset", 'I\'ve reset it: "give it two minutes".\nThen try again.'),
            candidate(4, "utter_line_reset", 'I\'ve reset it: "give it two minutes".\nthen try again.'),  # twin of 3
        ],
        domain,
    )
    assert plan.exported == [1, 2, 3, 4] and [name for name, _ in plan.write] == ["utter_thank", "utter_line_reset"]
    edited = with_responses(domain, plan.write)
    before, after = domain.splitlines(), edited.splitlines()
    assert [line for line in after if line not in before] == [
        '    - text: "Glad that\'s sorted. Anything else?"',
        "  utter_line_reset:",
        '    - text: "I\'ve reset it: \\"give it two minutes\\".\\nThen try again."',
    ]
    assert [line for line in after if line in before] == before  # nothing lost or moved, comments included
    responses = yaml.safe_load(edited)["responses"]
    assert responses["utter_thank"][-1] == {"text": "Glad that's sorted. Anything else?"}
    assert responses["utter_line_reset"] == [{"text": 'I\'ve reset it: "give it two minutes".\nThen try again.'}]


def test_other_domain_layouts_are_kept_or_refused() -> None:
    same_indent = """\
version: "3.1"
# what the bot says
responses:
    utter_a:
    -   text: hi   # a comment
        image: https://example.com/a.png
    # about b
    utter_b:
    - text: b

# actions
actions:
  - utter_a
"""
    edited = with_responses(same_indent, [("utter_a", "two"), ("utter_c", "cc")])
    assert edited.count("# a comment") == edited.count("# about b") == edited.count("# actions") == 1
    responses = yaml.safe_load(edited)["responses"]
    assert responses["utter_a"][-1] == {"text": "two"} and responses["utter_c"] == [{"text": "cc"}]
    assert edited.index('    - text: "two"') < edited.index("    # about b") < edited.index("    utter_c:")

    none_yet = with_responses('version: "3.1"\nintents: [greet]', [("utter_greet", "Hi.")])
    assert yaml.safe_load(none_yet) == {
        "version": "3.1",
        "intents": ["greet"],
        "responses": {"utter_greet": [{"text": "Hi."}]},
    }
    crlf = with_responses("responses:\r\n  utter_a:\r\n    - text: x\r\n", [("utter_a", "line\u2028break")])
    assert crlf == 'responses:\r\n  utter_a:\r\n    - text: x\r\n    - text: "line\\u2028break"\r\n'
    assert yaml.safe_load(crlf)["responses"]["utter_a"][1] == {"text": "line\u2028break"}
    for layout in (
        "responses: {utter_a: [{text: x}]}\n",  # flow style
        "responses: {}\n",  # would become a second `responses:` that PyYAML alone would not notice
        "responses:\n  utter_a:\n    - text: x\nresponses:\n  utter_b: []\n",  # twice: Rasa refuses it
    ):
        with pytest.raises(ValueError, match=r"add the accepted responses by hand|is there twice"):
            with_responses(layout, [("utter_a", "y")])
    for broken in ("responses: [a, b]\n", "responses: {a\n"):
        with pytest.raises(ValueError, match=r"must be a mapping|not valid YAML"):
            with_responses(broken, [("utter_a", "y")])


def test_a_new_response_must_be_used_by_a_rule_or_story() -> None:
    rules = yaml.safe_load("rules:\n  - rule: r\n    steps:\n      - intent: greet\n      - action: utter_hi\n")
    assert actions_in(rules) == {"utter_hi"} and actions_in(None) == set()
    domain = "responses:\n  utter_thank:\n    - text: x\n"
    additions = [("utter_thank", "y"), ("utter_hi", "Hi."), ("utter_new", "New.")]
    assert unused(additions, domain, actions_in(rules)) == ["utter_new"]  # an existing response is in use already
