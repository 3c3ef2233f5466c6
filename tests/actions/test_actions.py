"""The actions run against the real hub (a process on a free port, with the demo seed data)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.apologies import ActionApologize, ActionStopApologizing
from actions.compensation import ActionAnswerCompensation, ActionOfferCompensation
from actions.handoff import ActionAnswerBotChallenge, ActionDeclineHandoff, ActionHandoff, ActionOfferPerson
from actions.slots import ActionValidateSlotMappings
from actions.status import ActionIncidentStatus
from actions.wording import banned_phrases_in, is_plain

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import free_port  # noqa: E402

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())


def run(
    action: Action, tracker: Tracker, domain: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain or {}))
    texts = [m["text"] for m in dispatcher.messages]
    assert all(banned_phrases_in(t) == [] for t in texts), texts
    return texts, events


def slot(events: list[dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == name)


def test_apology_names_the_problem_and_the_incident_then_offers_a_person(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    first = make_tracker(sender, [("my internet has been down since this morning", "report_problem", "low")])
    [text], events = run(ActionApologize(), first)
    assert "internet connection hasn't been working since this morning" in text.lower()
    assert "fibre trunk cable" in text  # the open Lisbon incident's facts
    assert not is_plain(text)
    apologized = slot(events, "apologized_problems")
    assert apologized == ["internet:isn't working"]
    [recorded] = use_hub.packet(sender)["ledger"]["apologies"]  # the hub has it, as sent: the agents' ledger
    assert (recorded["text"], recorded["problem"]) == (text, "internet:isn't working")

    again = make_tracker(
        sender,
        [
            ("my internet has been down since this morning", "report_problem", "low"),
            ("this is a joke!!!", "express_frustration", "high"),
        ],
        {"apologized_problems": apologized},
    )
    [text], events = run(ActionApologize(), again)
    assert is_plain(text) and "person" in text, text
    assert slot(events, "handoff_offered") is True


def test_apology_says_how_long_the_customer_waited_and_how_long_the_incident_has_lasted(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1002")
    messages = [("hello?", "greet", "none"), ("internet down, ticket 5521", "report_problem", "medium")]
    tracker = make_tracker(sender, messages, first_sent=time.time() - 20 * 60)
    [text], _ = run(ActionApologize(), tracker)
    assert "20 minutes" in text, text  # measured from the customer's first message
    assert "about 5 hours" in text, text  # the seed's Lisbon incident started five hours before the hub's first start
    assert "ticket 5521" in text.lower(), text


def test_a_follow_up_naming_no_service_is_the_same_problem_and_gets_no_second_apology(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1002")
    first = [("wifi keeps dropping every few minutes", "report_problem", "low")]
    [text], events = run(ActionApologize(), make_tracker(sender, first))
    assert not is_plain(text)
    follow_up = [*first, ("it's still not working", "report_problem", "low")]
    apologized = {"apologized_problems": slot(events, "apologized_problems")}
    [text], _ = run(ActionApologize(), make_tracker(sender, follow_up, apologized))
    assert is_plain(text) and "internet connection" in text, text


def test_problem_the_incident_does_not_explain_gets_no_incident_facts(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    [text], _ = run(
        ActionApologize(), make_tracker(sender, [("I was charged twice this month", "report_problem", "none")])
    )
    assert "charged you twice" in text and "fibre" not in text


def test_after_stop_apologizing_every_answer_is_plain(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1002")
    history = [
        ("no internet since 9am", "report_problem", "medium"),
        ("stop apologising", "stop_apologizing", "medium"),
    ]
    [text], events = run(ActionStopApologizing(), make_tracker(sender, history))
    assert is_plain(text) and events == [SlotSet("apologies_stopped", True), SlotSet("handoff_offered", True)]
    for intent, action in [("report_problem", ActionApologize()), ("ask_status", ActionIncidentStatus())]:
        tracker = make_tracker(sender, [*history, ("still no internet", intent, "high")], {"apologies_stopped": True})
        texts, _ = run(action, tracker)
        assert texts and all(is_plain(t) for t in texts), texts


def test_after_a_handback_the_first_answer_says_where_the_person_left_it_once(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    use_hub.back_with_the_bot(sender)  # a person helped: the hub's context says so
    handed_back = {"human_helped": True, "handback_agent": "Ana", "handback_note": "  Engineer booked for Tuesday  "}
    history = [("my internet is still down", "report_problem", "low")]
    [text], events = run(ActionApologize(), make_tracker(sender, history, handed_back))
    assert text.startswith("Picking up where Ana left it. Ana's note: Engineer booked for Tuesday. "), text
    assert is_plain(text) and "fibre trunk cable" in text, text  # no second apology; the incident's facts
    assert slot(events, "handback_agent") is None and slot(events, "handback_note") is None

    said = {"human_helped": True, "handback_agent": None, "handback_note": None}
    later = [*history, ("still nothing", "report_problem", "low")]
    [again], _ = run(ActionApologize(), make_tracker(sender, later, said))
    assert "Ana" not in again and is_plain(again), again

    # Asking for a person again instead: the note is not said later, after that next person.
    handoff = make_tracker(sender, [("get me a person", "request_human", "medium")], handed_back)
    _, events = run(ActionHandoff(), handoff)
    assert slot(events, "handback_agent") is None and slot(events, "handback_note") is None

    asked = [("when will it be fixed", "ask_status", "none")]
    [status], events = run(ActionIncidentStatus(), make_tracker(sender, asked, {**handed_back, "handback_note": ""}))
    assert status.startswith("Picking up where Ana left it. Status of "), status
    assert slot(events, "handback_agent") is None


def test_a_problem_report_that_asks_for_plain_talk_gets_no_apology(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    tracker = make_tracker(sender, [("stop apologising, my wifi is STILL down", "report_problem", "high")])
    [text], events = run(ActionApologize(), tracker)
    assert is_plain(text) and "internet connection" in text, text
    assert slot(events, "apologies_stopped") is True


def test_a_customer_the_incident_does_not_affect_is_not_told_it_is_the_cause(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1004")  # internet customer in Porto; the open outage is in Lisbon
    [text], _ = run(ActionApologize(), make_tracker(sender, [("my internet is down", "report_problem", "none")]))
    assert "fibre trunk cable" not in text and ("outage" in text or "incident" in text), text


def test_compensation_is_decided_by_policy_recorded_and_offered_once(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1005")
    tracker = make_tracker(sender, [("do I get money back for this?", "ask_compensation", "low")])
    [first], events = run(ActionOfferCompensation(), tracker)
    # outage-4h-plus: max(5.00, 89.00 / 30 * 1 day * 0.5 (TV still works)) -> 5.00, as a credit note (business tier)
    assert "EUR 5.00 credit note" in first and first.endswith("Shall I apply it?"), first
    assert slot(events, "compensation_offered") is True and slot(events, "handoff_offered") is False
    recorded = use_hub.context(sender)["compensation"]
    assert (recorded["rule"], recorded["incident_id"], recorded["status"]) == ("outage-4h-plus", "INC-2041", "offered")
    assert (recorded["kind"], recorded["agent_max_amount"]) == ("credit_note", "100.00")
    assert "1 of 2 services hit" in recorded["reason"]
    [second], _ = run(ActionOfferCompensation(), tracker)
    assert second.startswith("As offered earlier") and "EUR 5.00" in second
    assert use_hub.context(sender)["compensation"]["id"] == recorded["id"]

    shown = slot(events, "compensation_shown")
    assert shown == {"id": recorded["id"], "amount": "5.00"}
    yes = make_tracker(
        sender,
        [("do I get money back for this?", "ask_compensation", "low"), ("yes", "affirm", "none")],
        {"compensation_offered": True, "compensation_shown": shown},
    )
    [text], events = run(ActionAnswerCompensation(), yes)
    assert "You accepted a EUR 5.00 credit note" in text and slot(events, "compensation_offered") is False
    assert use_hub.context(sender)["compensation"]["status"] == "accepted"
    [third], events = run(ActionOfferCompensation(), tracker)
    assert "You accepted" in third and slot(events, "compensation_offered") is False  # nothing left to answer


def test_a_declined_offer_is_recorded_and_stays_declined(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    ask = ("any compensation for the outage?", "ask_compensation", "none")
    [offer], events = run(ActionOfferCompensation(), make_tracker(sender, [ask]))
    assert "EUR 5.00 credit on your next bill" in offer, offer
    shown = {"compensation_shown": slot(events, "compensation_shown")}
    [text], _ = run(ActionAnswerCompensation(), make_tracker(sender, [ask, ("no thanks", "deny", "none")], shown))
    assert text.startswith("OK, no credit applied") and is_plain(text), text
    assert use_hub.context(sender)["compensation"]["status"] == "declined"
    [again], _ = run(ActionOfferCompensation(), make_tracker(sender, [ask]))
    assert "You declined" in again and "EUR 5.00" in again


def test_a_broken_policy_stops_the_action_server_at_start(tmp_path: Path) -> None:
    broken = tmp_path / "compensation.yml"
    broken.write_text("version: 1\ncurrency: EUR\nlimits: {max_amount: 60}\n")
    env = {**os.environ, "CANDOR_POLICY_FILE": str(broken), "CANDOR_SERVICE_TOKEN": "x" * 24}
    rasa = Path(sys.executable).parent / "rasa"
    done = subprocess.run(
        [str(rasa), "run", "actions", "--actions", "actions", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"{broken} limits: missing `agent_approval_above`" in done.stderr + done.stdout


def test_no_compensation_promised_to_a_customer_the_incident_does_not_affect(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1003")  # mobile customer in Porto; the open outage is Lisbon fibre
    [text], events = run(
        ActionOfferCompensation(), make_tracker(sender, [("refund please", "ask_compensation", "none")])
    )
    assert "EUR" not in text and "doesn't cover" in text
    assert slot(events, "handoff_offered") is True
    assert use_hub.context(sender)["compensation"] is None


def test_handoff_tells_the_customer_what_happens_next_without_apologising(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1002")
    tracker = make_tracker(sender, [("Stop sounding sorry and just talk to me like a person", "request_human", "high")])
    [text], events = run(ActionHandoff(), tracker)
    assert is_plain(text) and ("queue" in text or "person" in text), text
    assert slot(events, "apologies_stopped") is True
    assert use_hub.context(sender)["state"] in {"queued", "agent"}


def test_the_escalation_asks_for_an_agent_with_the_skill_of_the_customers_problem(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    use_hub.back_with_the_bot(sender)  # queued when Rasa did not answer: back to the bot, so it escalates anew
    said = [
        ("my tv has no channels since yesterday", "report_problem", "low"),
        ("a person please", "request_human", "low"),
    ]
    run(ActionHandoff(), make_tracker(sender, said))
    assert use_hub.packet(sender)["escalation"]["skills"] == ["tv"]
    other = use_hub.start_conversation("C-1002")
    use_hub.back_with_the_bot(other)
    run(ActionHandoff(), make_tracker(other, [("get me a person", "request_human", "low")]))
    assert use_hub.packet(other)["escalation"]["skills"] == []  # no problem named: any agent


def test_the_escalation_carries_the_apologies_already_made_for_the_agents_ledger(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    use_hub.back_with_the_bot(sender)
    tracker = make_tracker(sender, [("my internet is down", "report_problem", "low")])
    apology = "I'm sorry your internet connection isn't working: the Lisbon fibre outage explains it."
    tracker.events.append({"event": "bot", "text": apology, "timestamp": 1_800_000_000})
    tracker.events.append({"event": "bot", "text": "Want me to get you a person?"})  # plain: not an apology
    tracker.events.append({"event": "user", "text": "yes", "parse_data": {"intent": {"name": "affirm"}}})
    run(ActionHandoff(), tracker)
    listed = {"text": apology, "at": "2027-01-15T08:00:00+00:00", "problem": None}  # none recorded as it was sent
    assert use_hub.packet(sender)["ledger"]["apologies"] == [listed]


def test_bot_challenge_is_answered_honestly_with_a_person_offered(make_tracker) -> None:  # type: ignore[no-untyped-def]
    [text], events = run(ActionAnswerBotChallenge(), make_tracker("s", [("are you a bot?", "bot_challenge", "none")]))
    assert "automated" in text and "not a person" in text
    assert slot(events, "handoff_offered") is True


RISING = [
    ("my internet has been down since this morning", "report_problem", "none"),
    ("when will it be back?", "ask_status", "low"),
    ("the internet is STILL not working, this is ridiculous!!!", "report_problem", "high"),
]


def test_the_trend_slot_is_set_after_a_message_that_changes_it(make_tracker) -> None:  # type: ignore[no-untyped-def]
    texts, events = run(ActionValidateSlotMappings(), make_tracker("s", RISING), DOMAIN)
    assert (texts, events) == ([], [SlotSet("frustration_trend", "rising")])
    # Unchanged, it is not set again; the next calm message makes the trend fall.
    unchanged = make_tracker("s", RISING, {"frustration_trend": "rising"})
    assert run(ActionValidateSlotMappings(), unchanged, DOMAIN) == ([], [])
    calmer = make_tracker("s", [*RISING, ("ok, thanks for checking", "thank", "none")], {"frustration_trend": "rising"})
    assert run(ActionValidateSlotMappings(), calmer, DOMAIN)[1] == [SlotSet("frustration_trend", "falling")]
    calm = make_tracker("s", [("hi, my tv has no signal", "report_problem", "none")])
    assert run(ActionValidateSlotMappings(), calm, DOMAIN) == ([], [])


def test_a_yes_to_an_offer_an_agent_changed_meanwhile_shows_the_new_amount_first(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1002")
    ask = ("any credit for the outage?", "ask_compensation", "none")
    [_], events = run(ActionOfferCompensation(), make_tracker(sender, [ask]))
    shown = slot(events, "compensation_shown")
    use_hub.post(
        f"/api/agent/compensations/{shown['id']}/override",
        {"amount": "9.00", "reason": "three days without service"},
        use_hub._agent_headers(),
    )
    yes = [ask, ("yes", "affirm", "none")]
    [text], events = run(ActionAnswerCompensation(), make_tracker(sender, yes, {"compensation_shown": shown}))
    assert text.startswith("That offer has changed since: A team member has approved a EUR 9.00 credit"), text
    assert slot(events, "compensation_offered") is True
    assert use_hub.context(sender)["compensation"]["status"] == "approved"  # nothing accepted at 5.00
    again = make_tracker(sender, yes, {"compensation_shown": slot(events, "compensation_shown")})
    [text], _ = run(ActionAnswerCompensation(), again)
    assert "You accepted a EUR 9.00 credit" in text, text


def test_a_yes_answers_the_offer_only_right_after_it() -> None:
    def tracker(*turns: tuple[str, str]) -> Tracker:  # (bot action, then the customer's intent), in order
        events: list[dict[str, Any]] = []
        for action, intent in turns:
            events += [{"event": "action", "name": action}, {"event": "action", "name": "action_listen"}]
            events.append({"event": "user", "text": intent, "parse_data": {"intent": {"name": intent}}})
        latest = events[-1]["parse_data"]
        slots = {"compensation_offered": True, "frustration_trend": "calm"}
        return Tracker("s", slots, latest, events, False, None, {}, "action_listen")

    assert run(ActionValidateSlotMappings(), tracker(("action_offer_compensation", "affirm")), DOMAIN)[1] == []
    retried = tracker(("action_offer_compensation", "affirm"), ("action_answer_compensation", "affirm"))
    assert run(ActionValidateSlotMappings(), retried, DOMAIN)[1] == []
    moved_on = tracker(("action_offer_compensation", "ask_status"), ("action_incident_status", "affirm"))
    assert run(ActionValidateSlotMappings(), moved_on, DOMAIN)[1] == [SlotSet("compensation_offered", False)]
    thanked = tracker(("action_offer_compensation", "thank"), ("utter_thank", "affirm"))
    assert run(ActionValidateSlotMappings(), thanked, DOMAIN)[1] == [SlotSet("compensation_offered", False)]


def test_a_pending_offer_leaves_no_question_open(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    [_], apology_events = run(ActionApologize(), make_tracker(sender, [("internet down", "report_problem", "low")]))
    assert slot(apology_events, "handoff_offered") is True
    asked = make_tracker(
        sender, [("internet down", "report_problem", "low"), ("money back?", "ask_compensation", "none")]
    )
    [_], events = run(ActionOfferCompensation(), asked)
    # Whatever the offer's status, "ok" after it must not answer the earlier "shall I get you a person?"
    assert slot(events, "handoff_offered") is False


def test_the_offer_of_a_person_is_plain_and_sets_the_offer(make_tracker) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionOfferPerson().run(dispatcher, make_tracker("s", RISING), {}))
    [message] = dispatcher.messages
    assert is_plain(message["text"]) and "internet connection" in message["text"], message
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert events == [SlotSet("handoff_offered", True)]
    [text], _ = run(ActionOfferPerson(), make_tracker("s", [*RISING, ("qwzx??", "nlu_fallback", "high")]))
    assert text.startswith("I'm not following that") and is_plain(text), text


def test_a_declined_offer_is_remembered_until_a_handoff(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    _, events = run(ActionDeclineHandoff(), make_tracker("s", [("no", "deny", "none")]))
    assert events == [
        SlotSet("handoff_offered", False),
        SlotSet("handoff_declined", True),
        SlotSet("compensation_offered", False),
    ]
    sender = use_hub.start_conversation("C-1001")
    _, events = run(
        ActionHandoff(), make_tracker(sender, [("a person please", "request_human", "low")], {"handoff_declined": True})
    )
    assert slot(events, "handoff_declined") is False


def test_the_escalation_carries_the_trajectory_and_the_summary_says_it(use_hub, make_tracker) -> None:  # type: ignore[no-untyped-def]
    sender = use_hub.start_conversation("C-1001")
    use_hub.back_with_the_bot(sender)  # queued at once (no Rasa here): an agent hands it back to the bot first
    tracker = make_tracker(sender, [*RISING, ("get me a person", "request_human", "high")])
    [text], _ = run(ActionHandoff(), tracker)
    assert "handing you to a person" in text
    escalation = use_hub.packet(sender)["escalation"]
    assert escalation["trajectory"] == {
        "trend": "sustained",
        "level": "high",
        "score": 1.0,  # 0.9, and 0.1 for the internet problem told twice
        "causes": ["sustained_frustration", "repeated_problem"],
    }
    # high 30 + sustained 5 + asked for a person 10 + C-1001 in the open Lisbon outage 5 (docs/hub-api.md)
    assert escalation["priority"] == 50 and [f["level"] for f in escalation["frustration"]] == [
        "none",
        "low",
        "high",
        "high",
    ]
    assert (
        "Conversation: frustration sustained over several messages (now high); "
        "they had to tell us the same problem again." in escalation["summary"]
    ), escalation["summary"]


@pytest.mark.parametrize("hub_url", ["refused", "hanging"])
def test_hub_down_gives_honest_answers(hub_url: str, monkeypatch: pytest.MonkeyPatch, make_tracker) -> None:  # type: ignore[no-untyped-def]
    import socket

    from actions import settings as settings_module

    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1] if hub_url == "hanging" else 9
    monkeypatch.setenv("CANDOR_HUB_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CANDOR_HUB_TIMEOUT", "0.5")
    monkeypatch.setenv("CANDOR_SERVICE_TOKEN", "x" * 20)
    settings_module.settings.cache_clear()
    try:
        tracker = make_tracker("s", [("when is it fixed", "ask_status", "none")])
        [status], _ = run(ActionIncidentStatus(), tracker)
        assert "can't reach" in status
        [handoff], _ = run(ActionHandoff(), make_tracker("s", [("human", "request_human", "none")]))
        assert "isn't answering" in handoff
    finally:
        settings_module.settings.cache_clear()
        silent.close()
