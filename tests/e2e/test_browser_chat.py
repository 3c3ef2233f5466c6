"""Chat widgets in a real browser (Debian's Chromium, Playwright) against the real system: Candor's own widget,
and `rasa-webchat` from npm, a widget written for Rasa, on a page of the customer's own site. Each talks to the
bot through the hub's socket.io channel, asks for a person, and gets the agent's reply."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser import npm
from tests.browser.chromium import launch
from tests.e2e.conftest import AGENT, customer_token

TIMEOUT_MS = 30_000  # the real bot on 2 cores: a turn with the frustration model can take seconds

expect.set_options(timeout=TIMEOUT_MS)


SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop: help</title></head>
<body><h1>Example shop</h1><div id="chat"></div>
<script src="/webchat.js"></script>
<script>
  WebChat.default({
    socketUrl: %(hub)s,
    socketPath: "/socket.io/",
    customData: {customer_token: %(token)s},
    embedded: true,
    title: "Help",
    params: {storage: "session"},
  }, document.getElementById("chat"));
</script></body></html>
"""


@pytest.fixture(scope="module")
def shop(shop_origin: str, stack: Any) -> Iterator[str]:
    """The customer's site on its own origin, with rasa-webchat pointed at the hub: its URL."""
    bundle = npm.fetch(npm.RASA_WEBCHAT)
    page = SHOP_PAGE % {"hub": f'"{stack.hub_url}"', "token": f'"{customer_token("C-1001")}"'}

    class Site(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = (bundle, "text/javascript") if self.path == "/webchat.js" else (page.encode(), "text/html")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    address = urlsplit(shop_origin)
    server = http.server.ThreadingHTTPServer((address.hostname or "127.0.0.1", address.port or 80), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield shop_origin
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def agent_replies(hub: httpx.Client, session_id: str, text: str) -> list[str]:
    """Rita (online: logged in) has been given the conversation; she replies. The customer's lines she sees."""
    login = hub.post("/api/agent/login", json={"username": AGENT["username"], "password": AGENT["password"]})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    for _ in range(150):  # the handoff turn may still be running: the bot, then the hub's routing
        mine = hub.get("/api/agent/queue", headers=auth).json()["mine"]
        given = [q["conversation_id"] for q in mine if q["sender"] == session_id]
        if given:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"{session_id} was never given to {AGENT['name']}")
    conversation_id = given[0]
    sent = hub.post(f"/api/agent/conversations/{conversation_id}/messages", headers=auth, json={"text": text})
    assert sent.status_code == 201, sent.text
    transcript = hub.get(f"/api/agent/conversations/{conversation_id}/messages", headers=auth).json()["messages"]
    return [m["text"] for m in transcript if m["role"] == "customer"]


def online(hub: httpx.Client) -> None:
    """Rita logs in, so is online: the hub gives her the next conversation that waits."""
    login = hub.post("/api/agent/login", json={"username": AGENT["username"], "password": AGENT["password"]})
    assert login.status_code == 200, login.text


def test_candors_widget_talks_to_the_bot_then_to_a_person(page: Page, stack: Any, hub: httpx.Client) -> None:
    page.goto(f"{stack.hub_url}/?token={customer_token('C-1001')}")
    page.get_by_label("Message").fill("my internet has been down since this morning")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".msg.bot").first).to_contain_text("internet")  # the bot's answer, naming the problem
    online(hub)
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.locator("#status")).to_have_text("With a person")  # the hub gave the conversation to Rita
    session_id = page.evaluate("sessionStorage.getItem('candor.sender')")
    seen = agent_replies(hub, session_id, "Hi, Rita here. I can see the outage on your line.")
    assert seen[:2] == ["my internet has been down since this morning", "I want to talk to a person"]
    expect(page.locator(".msg.agent")).to_contain_text("Rita (support team)")
    expect(page.locator(".msg.agent")).to_contain_text("I can see the outage on your line.")


def test_rasa_webchat_from_npm_talks_to_the_bot_and_to_a_person(page: Page, shop: str, hub: httpx.Client) -> None:
    page.goto(shop)  # the customer's site, another origin than the hub's
    box = page.locator(".rw-new-message")
    expect(box).to_be_visible()
    box.fill("my internet has been down since this morning")
    box.press("Enter")
    expect(page.locator(".rw-response").first).to_contain_text("internet")  # the bot, rendered by rasa-webchat
    online(hub)
    box.fill("I want to talk to a person")
    box.press("Enter")
    expect(page.locator(".rw-response", has_text="person").last).to_be_visible()
    session_id = page.evaluate("JSON.parse(sessionStorage.getItem('chat_session')).session_id")
    seen = agent_replies(hub, session_id, "Hi, Rita here, through your shop's chat.")
    assert seen[:2] == ["my internet has been down since this morning", "I want to talk to a person"]
    expect(page.locator(".rw-response", has_text="Rita: Hi, Rita here, through your shop's chat.")).to_be_visible()
