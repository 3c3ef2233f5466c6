"""The agent console's context panel and its several conversations at once (handoff/static/console.html), in a real
browser against a real hub process: the frustration trajectory as a chart with a text alternative, the "already
said / offered" ledger, half-typed replies kept per conversation, unread cues, and long waits in the queue."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import fake_rasa  # scripts/, on the path (tests/browser/conftest.py)
import pytest
from playwright.sync_api import Locator, expect

from handoff import customer_tokens, models
from tests.browser.conftest import PASSWORDS, SERVICE_TOKEN, Console, Hub
from tests.browser.test_console import XSS_IMG, claim

ConsoleFactory = Callable[[Hub, str], Console]
CUSTOMER_SECRET = "browser-tests-customer-secret-0123456789abcdef"
BOT_REPLY = "I'm sorry your internet is down. Engineers are repairing a damaged cable in Lisbon."


def bot_answer(path: str, body: Any) -> Any:
    """Stands in for the Rasa server: one bot message for every customer message, 200 to anything else."""
    return [{"recipient_id": body["sender"], "text": BOT_REPLY}] if path == "/webhooks/rest/webhook" else {}


@pytest.fixture()
def bot_hub(start_hub: Callable[..., Hub]) -> Iterator[Hub]:
    """A hub with a bot that answers (so that conversations stay with it until the bot escalates them), and
    customer tokens (so that a conversation is a customer's of the directory, with offers)."""
    server = fake_rasa.serve(bot_answer)
    try:
        yield start_hub(CANDOR_RASA_URL=fake_rasa.url_of(server), CANDOR_CUSTOMER_TOKEN_SECRET=CUSTOMER_SECRET)
    finally:
        server.shutdown()
        server.server_close()


def signed_in_customer_says(hub: Hub, sender: str, customer_id: str, text: str) -> list[dict[str, Any]]:
    token = customer_tokens.mint(customer_id, CUSTOMER_SECRET, models.utcnow())
    body = {"sender": sender, "message": text, "metadata": {"customer_token": token}}
    response = hub.client.post("/webhooks/rest/webhook", json=body)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


def bot_post(hub: Hub, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = hub.client.post(path, json=body, headers={"X-Candor-Service-Token": SERVICE_TOKEN})
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


CUSTOMER_SAID = [
    ("my internet has been down since this morning", 0.22, "low"),
    ("I work from home, I need it today", 0.55, "medium"),
    (f"this is the third time this month {XSS_IMG}", 0.61, "medium"),
    ("I want to talk to a person NOW", 0.9, "high"),
]
APOLOGY = {"text": "I'm sorry your internet has been down since this morning, Marta.", "at": "2026-11-29T09:05:00Z"}
OFFER = {  # what the action server records for C-1001 in the Lisbon outage (policy/compensation.yml)
    "customer_id": "C-1001",
    "incident_id": "INC-2041",
    "rule": "outage-4h-plus",
    "kind": "bill_credit",
    "amount": "5.00",
    "agent_max_amount": "15.00",
    "currency": "EUR",
    "reason": "Fibre internet outage in Lisbon: major incident, 5.0 h affected",
}
SUMMARY = "Marta (C-1001) has had no internet since this morning; third outage this month; works from home."


def test_the_context_panel_charts_frustration_and_lists_what_was_already_said_and_offered(
    bot_hub: Hub, console: ConsoleFactory
) -> None:
    hub = bot_hub
    sender = f"browser-{uuid.uuid4()}"
    for text, _, _ in CUSTOMER_SAID:
        assert [m["text"] for m in signed_in_customer_says(hub, sender, "C-1001", text)] == [BOT_REPLY]
    escalation = {
        "reason": "customer_requested_human",
        "summary": SUMMARY,
        "problem": "internet down",
        "frustration": [{"score": score, "level": level, "text": text} for text, score, level in CUSTOMER_SAID],
        "trajectory": {"trend": "rising", "level": "high", "score": 0.9, "causes": ["rising_frustration"]},
        "apologies": [APOLOGY],
    }
    assert bot_post(hub, f"/api/bot/conversations/{sender}/escalate", escalation)["state"] == "queued"
    bot_post(hub, "/api/bot/compensations", {**OFFER, "sender": sender})

    ana = console(hub, "ana")
    page = ana.page
    claim(ana, "since this morning")
    expect(page.locator("#summary")).to_have_text(SUMMARY)

    # The chart: one point per customer message, and words saying what it shows (title and accessible name).
    words = "Frustration rose from low to high over 4 messages"
    chart = page.get_by_role("img", name=words)
    expect(chart).to_be_visible()
    expect(chart.locator("circle.point")).to_have_count(4)
    expect(chart.locator("> title")).to_have_text(words)
    levels = chart.locator("circle.point").evaluate_all("(dots) => dots.map((d) => d.classList[1])")
    assert levels == ["low", "medium", "medium", "high"]
    heights = chart.locator("circle.point").evaluate_all("(dots) => dots.map((d) => Number(d.getAttribute('cy')))")
    assert heights[0] > heights[1] > heights[2] > heights[3]  # a higher score is drawn higher (smaller y)
    expect(page.locator("#trajectory figcaption")).to_contain_text("trend rising, high")

    # Already said / offered: the bot's apology (which problem, when) and the offer with where it stands.
    ledger = page.get_by_role("region", name="Already said / offered")
    apology = ledger.locator("li.apology")
    expect(apology).to_have_count(1)
    expect(apology).to_contain_text(APOLOGY["text"])
    expect(apology).to_contain_text("about: internet down")
    offered = ledger.locator("li.offer")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text("5.00 EUR bill credit")
    expect(offered).to_contain_text("offered, awaiting the customer's answer")
    expect(offered).to_contain_text("incident INC-2041")

    # The customer's own words (with markup) are in the per-message list as text, never as HTML.
    page.locator("#frustration-details summary").click()
    expect(page.locator("#frustration")).to_contain_text(XSS_IMG)
    assert page.locator("#context img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_a_conversation_without_apologies_or_offers_says_so(hub: Hub, console: ConsoleFactory) -> None:
    hub.queued_customer("my landline is silent")  # no bot: escalated by the hub, no frustration readings
    ana = console(hub, "ana")
    claim(ana, "my landline is silent")
    ledger = ana.page.get_by_role("region", name="Already said / offered")
    expect(ledger).to_contain_text("None yet: the bot has not apologised.")
    expect(ledger).to_contain_text("Nothing offered.")
    expect(ana.page.locator("#trajectory")).to_contain_text("No frustration readings from the bot")
    expect(ana.page.locator("#trajectory svg")).to_have_count(0)


def mine(console: Console, text: str) -> Locator:
    return console.page.locator("#mine .item", has_text=text)


def test_several_conversations_keep_their_drafts_and_flag_unread_messages(hub: Hub, console: ConsoleFactory) -> None:
    hub.queued_customer("my phone line crackles all day")
    tv = hub.queued_customer("the TV guide shows yesterday")
    ana = console(hub, "ana")
    page = ana.page
    reply = page.get_by_label("Reply")
    transcript = page.locator("#transcript")

    claim(ana, "my phone line crackles")
    reply.fill("Draft for the phone line")
    claim(ana, "the TV guide shows")  # the second one on screen: its own, empty reply box
    expect(reply).to_have_value("")
    reply.fill("Draft for the TV guide")
    expect(mine(ana, "the TV guide shows")).to_have_attribute("aria-current", "true")

    mine(ana, "phone line crackles").get_by_role("button", name=re.compile(r"^Open conversation")).click()
    expect(transcript).to_contain_text("phone line crackles")
    expect(reply).to_have_value("Draft for the phone line")
    expect(mine(ana, "phone line crackles")).to_have_attribute("aria-current", "true")
    expect(mine(ana, "the TV guide shows")).not_to_have_attribute("aria-current", "true")

    # The customer not on screen writes: an unread count on their conversation, none on the one on screen.
    badge = mine(ana, "the TV guide shows").locator(".unread-count")
    expect(badge).to_have_count(0)
    hub.say(tv, "hello? the guide is still wrong")
    expect(badge).to_have_text("1 new")
    hub.say(tv, "and now the sound is gone too")
    expect(badge).to_have_text("2 new")
    expect(mine(ana, "phone line crackles").locator(".unread-count")).to_have_count(0)
    assert "the sound is gone" not in (transcript.text_content() or "")

    # Opened (the button says how many are unread), the cue goes and the TV draft is back.
    mine(ana, "the TV guide shows").get_by_role("button", name=re.compile(r"2 unread messages$")).click()
    expect(transcript).to_contain_text("and now the sound is gone too")
    expect(reply).to_have_value("Draft for the TV guide")
    expect(badge).to_have_count(0)
    hub.say(tv, "ok, I will wait")  # on screen: read as it arrives, no cue
    expect(page.locator("#transcript .msg.customer", has_text="ok, I will wait")).to_have_count(1)
    page.wait_for_timeout(3500)  # a queue refresh later
    expect(badge).to_have_count(0)

    # Sending clears only that conversation's draft; the keyboard switches (Alt+1, Alt+2: the order of Mine).
    reply.press("Enter")
    expect(page.locator("#transcript .msg.agent", has_text="Draft for the TV guide")).to_have_count(1)
    expect(reply).to_have_value("")
    drafts = {"phone line crackles": "Draft for the phone line", "the TV guide shows": ""}
    order = [i["summary"] for i in hub.api("/api/agent/queue", ana.token)["mine"]]
    assert len(order) == 2
    page.locator("#transcript").click()  # focus away from the reply box: the shortcut puts it back
    for number, summary in enumerate(order, 1):
        which = next(text for text in drafts if text in summary)
        page.keyboard.press(f"Alt+{number}")
        expect(mine(ana, which)).to_have_attribute("aria-current", "true")
        expect(reply).to_be_focused()
        expect(reply).to_have_value(drafts[which])

    # A reload keeps the drafts (sessionStorage, like the agent's token).
    page.reload()
    mine(ana, "phone line crackles").get_by_role("button", name=re.compile(r"^Open conversation")).click()
    expect(reply).to_have_value("Draft for the phone line")


def test_a_long_wait_in_the_queue_gets_an_attention_cue(hub: Hub, console: ConsoleFactory) -> None:
    hub.queued_customer("my bill shows a charge twice")
    hub.queued_customer("my new router has not arrived")
    # Ten minutes in the queue, without waiting ten minutes: the escalation's start moved back in the database.
    database = hub.env["CANDOR_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE escalations SET created_at = datetime(created_at, '-10 minutes') WHERE id = 1")
    ana = console(hub, "ana")
    long_wait = ana.page.locator("#waiting .item", has_text="charge twice")
    expect(long_wait.locator(".badge.attention")).to_have_text("Waiting 10 min")
    expect(long_wait).to_have_class(re.compile(r"\blong-wait\b"))
    fresh = ana.page.locator("#waiting .item", has_text="router has not arrived")
    expect(fresh).to_contain_text("waiting under a minute")
    expect(fresh.locator(".badge.attention")).to_have_count(0)


def test_an_agent_approves_and_adjusts_an_offer_within_policy_then_resolves(
    bot_hub: Hub, console: ConsoleFactory
) -> None:
    hub = bot_hub
    sender = f"browser-{uuid.uuid4()}"
    signed_in_customer_says(hub, sender, "C-1001", "my internet has been down all day")
    escalation = {"reason": "customer_requested_human", "summary": "Marta: down all day, wants the outage credited."}
    bot_post(hub, f"/api/bot/conversations/{sender}/escalate", escalation)
    recorded = bot_post(hub, "/api/bot/compensations", {**OFFER, "sender": sender, "status": "pending_approval"})

    ana = console(hub, "ana")
    page = ana.page
    claim(ana, "down all day")
    offered = page.locator("#compensations .comp")
    expect(offered).to_contain_text("awaiting an agent's approval")
    page.get_by_role("button", name="Approve 5.00 EUR bill credit").click()
    expect(offered).to_contain_text("approved, awaiting the customer's answer")

    # Beyond the agent's limit the form does not go (the policy's most, 15.00); within it, the new amount stands.
    amount = page.get_by_label("New amount (EUR)")
    amount.fill("20.00")
    page.get_by_label("Reason for the override").fill("third outage this month")
    page.get_by_role("button", name="Override 5.00 EUR bill credit").click()
    assert amount.evaluate("(input) => input.validity.rangeOverflow") is True
    expect(offered).to_contain_text("5.00 EUR bill credit")
    page.get_by_label("New amount (EUR)").fill("12.50")
    page.get_by_role("button", name="Override 5.00 EUR bill credit").click()
    expect(offered).to_contain_text("12.50 EUR bill credit")
    expect(offered).to_contain_text("originally 5.00 EUR")
    listed = hub.api("/api/agent/compensations", ana.token)["compensations"]
    assert [c["amount"] for c in listed if c["id"] == recorded["id"]] == ["12.50"]

    page.get_by_label("Handback note or resolve reason").fill("credit applied; service back")
    page.get_by_role("button", name="Resolve").click()
    conversation_id = recorded["conversation_id"]
    audit = hub.client.get(
        "/api/agent/audit", params={"conversation_id": conversation_id}, headers=bot_headers_of(hub, "ben")
    ).json()["entries"]
    assert "resolved" in [entry["action"] for entry in audit]
    expect(page.locator("#escalation")).to_contain_text("closed")


def bot_headers_of(hub: Hub, username: str) -> dict[str, str]:
    """A signed-in agent's headers (a supervisor's, to read the audit trail)."""
    response = hub.client.post("/api/agent/login", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
