"""The widget and the console checked by axe-core (from npm, tests/browser/npm.py) for the WCAG 2 A and AA rules it
can test in a browser: contrast, labels, names, roles, structure. The pages are checked in use: a conversation
with a person in the widget, an open conversation in an agent's console, the supervisor's panels."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import npm
from tests.browser.conftest import Console, Hub, new_page
from tests.browser.test_console import claim

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page: Page) -> list[str]:
    """What axe-core finds on the page as it is now: rule, impact and the first elements, one line each."""
    page.add_script_tag(content=npm.fetch(npm.AXE_CORE).decode())
    found: list[dict[str, Any]] = page.evaluate("async (rules) => (await axe.run(document, rules)).violations", RULES)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in found]


def test_the_widget_in_a_conversation_with_a_person(hub: Hub, browser: Browser) -> None:
    contexts: list[BrowserContext] = []
    page, _ = new_page(browser, contexts, width=800)
    page.goto(f"{hub.url}/")
    page.get_by_label("Message").fill("my internet is down")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".msg.system", has_text="queue")).to_be_visible()
    assert violations(page) == []
    for context in contexts:
        context.close()


def test_the_console_login_an_open_conversation_and_the_supervisors_panels(
    hub: Hub, browser: Browser, console: Callable[[Hub, str], Console]
) -> None:
    contexts: list[BrowserContext] = []
    login, _ = new_page(browser, contexts, width=1400)
    login.goto(f"{hub.url}/console")
    expect(login.get_by_label("Password", exact=True)).to_be_visible()
    assert violations(login) == []
    for context in contexts:
        context.close()

    hub.queued_customer("my TV has no signal since the storm")
    ana = console(hub, "ana")
    claim(ana, "my TV has no signal")
    assert violations(ana.page) == []
    ben = console(hub, "ben")
    expect(ben.page.get_by_role("region", name="Overview")).to_be_visible()
    expect(ben.page.locator("#counts")).to_contain_text(re.compile(r"With agents\s*1"))
    assert violations(ben.page) == []
