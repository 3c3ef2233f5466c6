"""The customer's chat widget (handoff/static/index.html) in a real browser against a real hub process, over the
hub's socket.io channel: reaching a person who replies and hands back, a dropped connection (the hub stopped and
started again) without loss or duplicates, text that stays text, and the keyboard. No Rasa runs here (see
conftest.py): a customer's first message queues them for a person; tests/e2e/test_browser_chat.py has the bot."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fake_rasa  # scripts/, on the path (tests/browser/conftest.py)
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PASSWORDS, Console, Hub, eventually, failed, new_page
from tests.browser.test_console import XSS_IMG, XSS_SCRIPT, claim


@dataclass
class Chat:
    page: Page
    errors: list[str]

    def say(self, text: str) -> None:
        self.page.get_by_label("Message").fill(text)
        self.page.get_by_label("Message").press("Enter")

    def bubbles(self, role: str, text: str) -> int:
        return self.page.locator(f"#log .msg.{role}:visible", has_text=text).count()


@pytest.fixture()
def widget(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Hub], Chat]]:
    """`widget(hub)`: the chat page of a new customer, in a browser context of its own."""
    opened: list[Chat] = []
    contexts: list[BrowserContext] = []

    def open_chat(hub: Hub) -> Chat:
        page, errors = new_page(browser, contexts, width=800)
        page.goto(f"{hub.url}/")
        opened.append(Chat(page, errors))
        return opened[-1]

    yield open_chat
    if failed(request):
        for number, chat in enumerate(opened):
            with contextlib.suppress(Exception):
                chat.page.screenshot(path=str(tmp_path / f"widget-{number}.png"), full_page=True)
                print(f"screenshot of the widget: {tmp_path / f'widget-{number}.png'}")
    for context in contexts:
        context.close()
    errors = [error for chat in opened for error in chat.errors]
    assert not errors, f"script errors on the widget: {errors}"


def agent_token(hub: Hub, username: str = "ana") -> str:
    response = hub.client.post("/api/agent/login", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def agent_says(hub: Hub, token: str, conversation_id: int, text: str) -> None:
    response = hub.client.post(
        f"/api/agent/conversations/{conversation_id}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text


def sender_of(chat: Chat) -> str:
    sender = chat.page.evaluate("sessionStorage.getItem('candor.sender')")
    assert isinstance(sender, str) and len(sender) == 32
    return sender


def test_a_customer_reaches_a_person_who_replies_then_hands_back(
    hub: Hub, widget: Callable[[Hub], Chat], console: Callable[[Hub, str], Console]
) -> None:
    chat = widget(hub)
    page = chat.page
    expect(page.get_by_role("button", name="Talk to a person")).to_be_visible()
    chat.say("my internet has been down since this morning")
    expect(page.locator(".msg.system", has_text="put you in the queue for a person")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Waiting for a person")
    expect(page.locator(".msg.customer .note")).to_have_count(0)  # acknowledged: no "Sending…" left

    ana = console(hub, "ana")
    claim(ana, "my internet has been down")
    ana.page.get_by_label("Reply").fill("Hi, Ana here. I'm checking your line now.")
    ana.page.get_by_label("Reply").press("Enter")
    agent_line = page.locator(".msg.agent")
    expect(agent_line).to_contain_text("Ana (support team)")  # who is talking
    expect(agent_line).to_contain_text("Hi, Ana here. I'm checking your line now.")
    expect(page.locator("#status")).to_have_text("With a person")

    chat.say("thank you, it's the router light that's red")
    expect(ana.page.locator("#transcript .msg.customer", has_text="router light that's red")).to_have_count(1)
    ana.page.get_by_label("Handback note or resolve reason").fill("Engineer booked for Tuesday 9-12.")
    ana.page.get_by_role("button", name="Hand back to the bot").click()
    expect(page.locator(".msg.system", has_text="handed this conversation back")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Assistant")
    assert chat.bubbles("agent", "checking your line") == 1


def test_a_dropped_connection_loses_and_repeats_nothing(hub: Hub, widget: Callable[[Hub], Chat]) -> None:
    chat = widget(hub)
    page = chat.page
    chat.say("my TV has no signal")
    expect(page.locator(".msg.system", has_text="queue")).to_be_visible()
    token = agent_token(hub)
    conversation_id = hub.conversation_id(sender_of(chat), token)
    claimed = hub.client.post(
        f"/api/agent/conversations/{conversation_id}/claim", headers={"Authorization": f"Bearer {token}"}
    )
    assert claimed.status_code == 200, claimed.text
    agent_says(hub, token, conversation_id, "First: I see the fault on your street.")
    expect(page.locator(".msg.agent", has_text="First:")).to_have_count(1)

    hub.go_down()  # the connection drops: the hub is stopped
    expect(page.locator("#connection")).to_have_text(re.compile(r"reconnecting|trying again"))  # either, by timing
    chat.say("are you still there?")  # typed while the connection is down
    expect(page.locator(".msg.customer", has_text="still there").locator(".note")).to_have_text("Sending…")
    hub.come_back()
    agent_says(hub, token, conversation_id, "Second: yes, still here.")

    expect(page.locator(".msg.agent", has_text="Second:")).to_have_count(1)
    expect(page.locator(".msg.customer .note")).to_have_count(0)  # the message went once the hub was back
    expect(page.locator("#connection")).to_be_hidden()
    stored = hub.api(f"/api/agent/conversations/{conversation_id}/messages", token, after=0)["messages"]
    assert [m["text"] for m in stored if m["role"] == "customer"] == ["my TV has no signal", "are you still there?"]
    for role, text in [("agent", "First:"), ("agent", "Second:"), ("customer", "still there"), ("system", "queue")]:
        assert chat.bubbles(role, text) == 1, (role, text)

    page.reload()  # the transcript survives a reload, still once each
    expect(page.locator(".msg.agent", has_text="Second:")).to_have_count(1)
    agent_says(hub, token, conversation_id, "Third, after your reload.")
    expect(page.locator(".msg.agent", has_text="Third")).to_have_count(1)
    assert chat.bubbles("agent", "First:") == 1


def test_what_customers_and_agents_type_is_shown_as_text(hub: Hub, widget: Callable[[Hub], Chat]) -> None:
    chat = widget(hub)
    page = chat.page
    chat.say(f"hello {XSS_IMG}")
    expect(page.locator(".msg.system", has_text="queue")).to_be_visible()
    token = agent_token(hub)
    conversation_id = hub.conversation_id(sender_of(chat), token)
    hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers={"Authorization": f"Bearer {token}"})
    agent_says(hub, token, conversation_id, f"reply {XSS_SCRIPT} and <b>bold</b>")
    expect(page.locator(".msg.agent")).to_contain_text(f"reply {XSS_SCRIPT} and <b>bold</b>")
    expect(page.locator(".msg.customer")).to_contain_text(f"hello {XSS_IMG}")
    assert page.locator("#log img, #log script, #log b").count() == 0
    assert page.evaluate("window.__xss") is None


def test_a_person_is_one_key_press_away_and_controls_are_labelled(hub: Hub, widget: Callable[[Hub], Chat]) -> None:
    chat = widget(hub)
    page = chat.page
    expect(page.get_by_label("Message")).to_be_focused()  # ready to type on arrival
    page.keyboard.press("Shift+Tab")  # the control before the message box
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Talk to a person", focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.customer", has_text="I want to talk to a person")).to_have_count(1)
    expect(page.locator(".msg.system", has_text="queue")).to_be_visible()
    assert outline != "none"
    expect(page.get_by_label("Message")).to_be_editable()
    expect(page.get_by_role("log")).to_be_visible()
    sender = sender_of(chat)
    eventually(lambda: agent_can_see(hub, sender), what="the customer's request reached the queue")


def agent_can_see(hub: Hub, sender: str) -> bool:
    with contextlib.suppress(AssertionError, httpx.HTTPError):
        return hub.conversation_id(sender, agent_token(hub)) > 0
    return False


def test_a_message_typed_while_unreachable_survives_a_reload_and_goes_once(
    hub: Hub, widget: Callable[[Hub], Chat]
) -> None:
    chat = widget(hub)
    page = chat.page
    chat.say("my landline is dead")
    expect(page.locator(".msg.system", has_text="queue")).to_be_visible()
    page.route("**/socket.io/**", lambda route: route.abort())  # the chat cannot reach the hub; the page can
    page.reload()
    expect(page.locator("#connection")).to_have_text(re.compile(r"reconnecting|trying again"))
    chat.say("hello, anyone?")
    expect(page.locator(".msg.customer", has_text="anyone").locator(".note")).to_have_text("Sending…")
    page.reload()  # what people do when a chat seems stuck
    expect(page.locator(".msg.customer", has_text="anyone").locator(".note")).to_have_text("Sending…")
    page.unroute("**/socket.io/**")
    expect(page.locator(".msg.customer .note")).to_have_count(0)  # acknowledged once the hub is reachable
    token = agent_token(hub)
    conversation_id = hub.conversation_id(sender_of(chat), token)
    stored = hub.api(f"/api/agent/conversations/{conversation_id}/messages", token, after=0)["messages"]
    assert [m["text"] for m in stored if m["role"] == "customer"] == ["my landline is dead", "hello, anyone?"]
    page.reload()
    expect(page.locator(".msg.customer", has_text="anyone")).to_have_count(1)
    expect(page.locator(".msg.customer .note")).to_have_count(0)  # remembered as sent


def test_the_queue_place_and_expected_wait_show_and_move_up(
    start_hub: Callable[..., Hub], widget: Callable[[Hub], Chat]
) -> None:
    hub = start_hub(CANDOR_SWEEP_INTERVAL="1")  # claim mode: an agent online takes conversations by hand
    ana = agent_token(hub)  # online now: the widget can say a place and a wait
    first, second = widget(hub), widget(hub)
    first.say("my internet has been down since this morning")
    expect(first.page.locator("#status")).to_have_text(re.compile(r"^Waiting for a person: number 1, about \d+ min$"))
    second.say("my TV has no signal")
    expect(second.page.locator("#status")).to_have_text(re.compile(r"^Waiting for a person: number 2, about \d+ min$"))

    # The first is taken: the second customer is told they moved up, without sending anything.
    conversation_id = hub.conversation_id(sender_of(first), ana)
    claimed = hub.client.post(
        f"/api/agent/conversations/{conversation_id}/claim", headers={"Authorization": f"Bearer {ana}"}
    )
    assert claimed.status_code == 200, claimed.text
    expect(first.page.locator("#status")).to_have_text("With a person")
    expect(second.page.locator("#status")).to_have_text(re.compile(r"^Waiting for a person: number 1, about \d+ min$"))


def test_the_bot_is_shown_typing_until_it_answers(start_hub: Callable[..., Hub], widget: Callable[[Hub], Chat]) -> None:
    def slow_bot(path: str, body: Any) -> Any:
        if path != "/webhooks/rest/webhook":
            return {}
        time.sleep(2)  # long enough to see, well inside the hub's Rasa timeout below
        return [{"recipient_id": body["sender"], "text": "The Lisbon outage is being fixed."}]

    server = fake_rasa.serve(slow_bot)
    try:
        hub = start_hub(CANDOR_RASA_URL=fake_rasa.url_of(server), CANDOR_RASA_TIMEOUT="10")
        chat = widget(hub)
        chat.say("is the outage fixed?")
        expect(chat.page.locator("#typing")).to_be_visible()
        expect(chat.page.locator("#typing")).to_contain_text("Typing…")
        expect(chat.page.locator(".msg.bot:visible", has_text="The Lisbon outage is being fixed.")).to_have_count(1)
        expect(chat.page.locator("#typing")).to_be_hidden()
    finally:
        server.shutdown()
        server.server_close()
