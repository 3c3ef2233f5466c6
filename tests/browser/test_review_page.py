"""The trainers' review page (handoff/static/review.html) and the console's "bot should have handled this", in a real
browser against a real hub process. The bot is scripts/fake_rasa.py: its webhook answers, and its tracker API says
what its NLU "understood" of each message (sure of most, unsure of some), as Rasa's does."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import fake_rasa  # scripts/, on the path (tests/browser/conftest.py)
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PASSWORDS, SERVICE_TOKEN, Console, Hub, eventually, new_page
from tests.browser.test_console import claim

TRAINER = ("tess", "candor-demo-tess")  # handoff/seed/demo.yml
UNSURE = "😡 is ORD-5512 sorted? call me on 07700 900123"  # an emoji: one character to the hub, two to JavaScript
MARKUP = '<img src=x onerror="document.title=1"> where is it'


class Bot:
    """Answers every message; keeps each sender's messages as parsed, for the tracker API."""

    def __init__(self) -> None:
        self.parsed: dict[str, list[dict[str, Any]]] = {}

    def answer(self, path: str, body: Any) -> Any:
        if path == "/model/parse":  # the customer's reaction to an agent's reply: thanks, calmly
            thanks = {"name": "thank", "confidence": 0.97}
            return {"intent": thanks, "intent_ranking": [thanks], "frustration": {"score": 0.05, "level": "none"}}
        if path != "/webhooks/rest/webhook":
            return {}
        unsure = body["message"] in (UNSURE, MARKUP)
        ranking = (
            [{"name": "ask_status", "confidence": 0.38}, {"name": "ask_compensation", "confidence": 0.33}]
            if unsure
            else [{"name": "report_problem", "confidence": 0.97}]
        )
        parse = {
            "intent": ranking[0],
            "intent_ranking": ranking,
            "metadata": body.get("metadata") or {},
            "frustration": {"score": 0.55, "level": "medium"},
        }
        self.parsed.setdefault(body["sender"], []).append(parse)
        return [{"recipient_id": body["sender"], "text": "Let me look into that."}]

    def tracker(self, path: str) -> Any:
        """GET /conversations/{sender}/tracker?include_events=NONE|ALL: the latest message, or every user event."""
        route, _, query = path.partition("?")
        sender = route.split("/")[2] if route.startswith("/conversations/") else ""
        parsed = self.parsed.get(sender, [])
        events = [{"event": "user", "parse_data": parse, "metadata": parse["metadata"]} for parse in parsed]
        latest = parsed[-1] if parsed else {}
        return {"sender_id": sender, "latest_message": latest, "events": None if "NONE" in query else events}


@pytest.fixture()
def bot_hub(start_hub: Callable[..., Hub]) -> Iterator[Hub]:
    bot = Bot()
    server = fake_rasa.serve(bot.answer, bot.tracker)
    try:
        yield start_hub(CANDOR_RASA_URL=fake_rasa.url_of(server))
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    contexts: list[BrowserContext] = []
    opened = new_page(browser, contexts, width=1400)
    yield opened
    for context in contexts:
        context.close()
    assert not opened[1], f"script errors on the review page: {opened[1]}"


def trainer_token(hub: Hub) -> str:
    response = hub.client.post("/api/trainer/login", json={"username": TRAINER[0], "password": TRAINER[1]})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def items(hub: Hub, token: str, state: str = "open") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = hub.api("/api/trainer/review", token, state=state)["items"]
    return found


def log_in(page: Page, hub: Hub, username: str, password: str) -> None:
    page.goto(f"{hub.url}/review")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_trainer_labels_one_message_and_discards_another(bot_hub: Hub, page: tuple[Page, list[str]]) -> None:
    hub, (tab, _) = bot_hub, page
    sender = f"browser-{uuid.uuid4()}"
    token = trainer_token(hub)
    for text, count in (("my internet is down", 0), (UNSURE, 1), (MARKUP, 2)):  # one by one: the inbox's order
        hub.say(sender, text)
        eventually(lambda count=count: len(items(hub, token)) == count, what=f"{count} unsure message(s) in the inbox")

    log_in(tab, hub, *TRAINER)
    listed = tab.locator("#items .item")
    expect(listed).to_have_count(2)
    expect(listed.first).to_contain_text("😡 is ORD-00000 sorted? call me on [phone]")  # redacted
    expect(tab.locator("#message")).to_have_text("😡 is ORD-00000 sorted? call me on [phone]")
    expect(tab.locator("#context")).to_contain_text("my internet is down")
    expect(tab.locator("#facts")).to_contain_text("low confidence, two close intents")
    expect(tab.locator("#facts")).to_contain_text("ask_status 38%, ask_compensation 33%")
    expect(tab.locator("#facts")).to_contain_text("medium (0.55)")
    expect(tab.locator("#entities")).to_contain_text("order_id: “ORD-00000”")

    # The order id's entity, removed and marked again by selecting its words; then the label.
    tab.get_by_role("button", name="Remove order_id ORD-00000").click()
    expect(tab.locator("#entities")).to_contain_text("none marked")
    tab.evaluate(
        """() => { const text = document.getElementById("message").firstChild, range = document.createRange();
                   range.setStart(text, 5); range.setEnd(text, 15);  // " ORD-00000" (UTF-16): the space is trimmed
                   const selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range); }"""
    )
    tab.get_by_role("button", name="Mark selection").click()
    expect(tab.locator("#message mark")).to_have_text("ORD-00000")
    tab.get_by_label("Intent").select_option("ask_status")
    tab.get_by_label("Frustration").select_option("low")
    tab.get_by_role("button", name="Save label").click()
    expect(tab.locator("#notice")).to_contain_text("Labelled ask_status")
    [labelled] = items(hub, token, "labelled")
    assert (labelled["label_intent"], labelled["label_frustration"]) == ("ask_status", "low")
    assert labelled["entities"] == [{"start": 5, "end": 14, "entity": "order_id"}]  # as the hub counts

    # The next item is on screen: markup shows as the text it is.
    expect(tab.locator("#message")).to_have_text(MARKUP)
    assert tab.locator("#message img, #items img").count() == 0
    tab.get_by_role("button", name="Discard").click()
    expect(tab.locator("#notice")).to_contain_text("Discarded")
    assert [i["text"] for i in items(hub, token, "discarded")] == [MARKUP]
    expect(tab.locator("#items .item")).to_have_count(0)
    assert tab.title() == "Candor review inbox"


def test_an_agent_flags_a_message_from_the_console_and_cannot_use_the_review_page(
    hub: Hub, console: Callable[[Hub, str], Console], page: tuple[Page, list[str]]
) -> None:
    hub.queued_customer("can you move my engineer visit to friday")  # no bot: straight to the queue
    ana = console(hub, "ana")
    claim(ana, "move my engineer visit")
    message = ana.page.locator("#transcript .msg.customer").first
    message.get_by_text("Bot should have handled this").click()
    message.get_by_label("Note for the trainers").fill("a plain reschedule")
    message.get_by_role("button", name="Send to trainers").click()
    expect(message).to_contain_text("Sent to the trainers' review inbox.")
    [flagged] = items(hub, trainer_token(hub))
    assert (flagged["text"], flagged["reasons"], flagged["note"]) == (
        "can you move my engineer visit to friday",
        ["agent_flagged"],
        "a plain reschedule",
    )

    tab, _ = page
    log_in(tab, hub, "ana", PASSWORDS["ana"])
    expect(tab.locator("#login-error")).to_contain_text("not a trainer account")
    expect(tab.locator("#app")).to_be_hidden()


REPLY = 'Ana here: I have reset your line <b onmouseover="document.title=2">now</b>, give it two minutes.'


def test_a_trainer_accepts_an_agents_reply_that_worked_as_a_bot_response(
    bot_hub: Hub, page: tuple[Page, list[str]]
) -> None:
    hub, (tab, _) = bot_hub, page
    sender = f"browser-{uuid.uuid4()}"
    hub.say(sender, "my line keeps dropping")
    escalation = {"reason": "customer_requested_human", "summary": "line drops", "frustration": []}
    bot = {"X-Candor-Service-Token": SERVICE_TOKEN}
    assert hub.client.post(f"/api/bot/conversations/{sender}/escalate", json=escalation, headers=bot).status_code == 200
    ana = hub.client.post("/api/agent/login", json={"username": "ana", "password": PASSWORDS["ana"]}).json()["token"]
    agent = {"Authorization": f"Bearer {ana}"}
    conversation = f"/api/agent/conversations/{hub.conversation_id(sender, ana)}"
    assert hub.client.post(f"{conversation}/claim", headers=agent).status_code == 200
    assert hub.client.post(f"{conversation}/messages", json={"text": REPLY}, headers=agent).status_code == 201
    hub.say(sender, "thanks, that did it")
    assert hub.client.post(f"{conversation}/resolve", json={"reason": "fixed"}, headers=agent).status_code == 200
    token = trainer_token(hub)
    eventually(lambda: hub.api("/api/trainer/responses", token)["candidates"], what="a response candidate")

    log_in(tab, hub, *TRAINER)
    tab.get_by_role("button", name="Agent replies").click()
    expect(tab.get_by_role("heading", name="Agent replies that worked")).to_be_visible()
    redacted = REPLY.replace("Ana", "[name]")
    expect(tab.locator("#reply")).to_have_text(redacted)  # markup shows as the text it is
    expect(tab.locator("#prompt")).to_have_text("my line keeps dropping")
    expect(tab.locator("#reaction")).to_have_text("thanks, that did it")
    expect(tab.locator("#candidate-facts")).to_contain_text("thank")
    assert tab.locator("#reply b, #items b").count() == 0

    # As it stands it still names the agent: refused, with why. Rewritten as the bot should say it: accepted.
    tab.get_by_label("Use it as the bot's response").fill("utter_thank")
    tab.get_by_role("button", name="Accept").click()
    expect(tab.locator("#accept-notice")).to_contain_text("[name] is a redaction placeholder")
    said = "I have reset your line now. Give it two minutes."
    tab.get_by_label("What the bot will say").fill(said)
    tab.get_by_role("button", name="Accept").click()
    expect(tab.locator("#accept-notice")).to_contain_text("Accepted as utter_thank")
    [accepted] = hub.api("/api/trainer/responses", token, state="accepted")["candidates"]
    assert (accepted["response"], accepted["accepted_text"], accepted["decided_by"]) == (
        "utter_thank",
        said,
        "trainer:tess",
    )
    expect(tab.locator("#items .item")).to_have_count(0)  # none proposed any more
    assert tab.title() == "Candor review inbox"
