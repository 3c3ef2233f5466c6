"""The agent console (handoff/static/console.html) in a real browser against a real hub process: presence,
claim and transfer, follow-ups, the supervisors' waiting alerts, live updates, and customer text that stays
text."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import SERVICE_TOKEN, Console, Hub, eventually

ConsoleFactory = Callable[[Hub, str], Console]


def waiting_item(page: Page, text: str) -> Any:
    return page.locator("#waiting .item", has_text=text)


def claim(agent: Console, text: str) -> None:
    """Claim, from the console's Waiting list, the conversation whose summary shows `text`."""
    item = waiting_item(agent.page, text)
    item.get_by_role("button", name=re.compile(r"^Claim conversation")).click()
    expect(agent.page.locator("#transcript")).to_contain_text(text)
    expect(agent.page.locator("#escalation")).to_contain_text("agent")


def test_presence_is_shown_and_set(hub: Hub, console: ConsoleFactory) -> None:
    ana = console(hub, "ana")
    page = ana.page
    presence = page.get_by_label("Presence")
    expect(presence).to_have_value("online")  # logging in sets it
    expect(page.locator("#profile")).to_have_text("Team support · 0 of 3 conversations · taking conversations")

    presence.select_option("away")
    eventually(lambda: hub.api("/api/agent/me", ana.token)["presence"] == "away", what="the hub has ana away")
    expect(page.locator("#profile")).to_contain_text("not taking new conversations")
    me = hub.api("/api/agent/me", ana.token)
    assert (me["presence"], me["available"], me["team"], me["capacity"]) == ("away", False, "support", 3)
    page.wait_for_timeout(3500)  # a queue refresh later (3 s), the console still says away
    expect(presence).to_have_value("away")

    presence.select_option("online")
    eventually(lambda: hub.api("/api/agent/me", ana.token)["available"], what="ana online and available again")
    expect(page.locator("#profile")).to_contain_text("taking conversations")

    # Capacity use follows the conversations ana holds, without a reload.
    hub.queued_customer("my router blinks red since this morning")
    claim(ana, "my router blinks red")
    expect(page.locator("#profile")).to_contain_text("1 of 3 conversations")


def test_presence_steers_routing_in_auto_mode(start_hub: Callable[..., Hub], console: ConsoleFactory) -> None:
    hub = start_hub(CANDOR_ASSIGNMENT="auto")
    ana = console(hub, "ana")
    page = ana.page
    page.get_by_label("Presence").select_option("away")
    eventually(lambda: hub.api("/api/agent/me", ana.token)["presence"] == "away", what="the hub has ana away")
    hub.queued_customer("my internet keeps dropping")  # nobody available: it waits
    expect(waiting_item(page, "my internet keeps dropping")).to_be_visible()
    expect(page.locator("#mine")).to_have_text("None")

    page.get_by_label("Presence").select_option("online")  # going online routes what waits: to ana
    expect(page.locator("#mine .item", has_text="my internet keeps dropping")).to_be_visible()
    expect(waiting_item(page, "my internet keeps dropping")).to_have_count(0)
    expect(page.locator("#profile")).to_contain_text("1 of 3 conversations")


def test_claim_then_transfer_to_an_agent_with_a_note(hub: Hub, console: ConsoleFactory) -> None:
    ana, ben = console(hub, "ana"), console(hub, "ben")  # ben's console open: ben is available
    sender = hub.queued_customer("the TV box restarts every ten minutes")
    claim(ana, "the TV box restarts")
    page = ana.page
    expect(page.locator("#escalation")).to_contain_text("Ana (ana)")

    note = "Checked the line: fine. Billing refund question left, over to you."
    page.get_by_label("Transfer to").select_option("agent")
    # The choices come from the hub's directory: every other agent, with their team and whether they can take it.
    targets = page.locator("#transfer-targets option")
    expect(targets).to_have_count(1)
    expect(targets).to_have_attribute("value", "ben")
    expect(targets).to_have_attribute("label", re.compile(r"^Ben · billing · available, 0 of \d+$"))
    page.get_by_label("Agent's username").fill("ben")
    page.get_by_label("Note for whoever takes it over").fill(note)
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator("#status")).to_have_text("Transferred to ben.")
    expect(page.locator("#escalation")).to_contain_text("Ben (ben)")
    expect(page.locator("#transfers")).to_contain_text("ana → ben")
    expect(page.locator("#transfers")).to_contain_text(note)
    expect(page.locator("#transfer")).to_be_hidden()  # not ana's to transfer any more
    expect(page.locator("#transcript")).to_contain_text("Ben")  # the system message the customer got

    # The hub agrees: the packet's escalation and the audit trail carry the transfer and its note.
    conversation_id = hub.conversation_id(sender, ben.token)
    packet = hub.api(f"/api/agent/conversations/{conversation_id}", ben.token)
    assert packet["conversation"]["agent"]["username"] == "ben"
    (transfer,) = packet["escalation"]["transfers"]
    assert {k: transfer[k] for k in ("from", "to", "by", "note")} == {
        "from": "ana",
        "to": "ben",
        "by": "ana",
        "note": note,
    }
    audit = hub.api("/api/agent/audit", ben.token, conversation_id=conversation_id)["entries"]
    transferred = [e for e in audit if e["action"] == "transferred"]
    assert len(transferred) == 1 and transferred[0]["actor"] == "agent:ana"
    assert transferred[0]["detail"]["to"] == "ben" and transferred[0]["detail"]["note"] == note
    assert any("Ben" in m["text"] for m in hub.chat(sender)["messages"] if m["custom"]["from"] == "system")

    # Ben's console, never reloaded, has it under Mine; opened, it shows who passed it on and why.
    mine = ben.page.locator("#mine .item", has_text="the TV box restarts")
    mine.get_by_role("button", name=re.compile(r"^Open conversation")).click()
    expect(ben.page.locator("#transfers")).to_contain_text(note)
    expect(ben.page.locator("#transfer")).to_be_visible()
    expect(page.locator("#mine")).not_to_contain_text("the TV box restarts")  # and ana's no longer


def test_transfer_to_a_team_and_a_refused_transfer(hub: Hub, console: ConsoleFactory) -> None:
    ana, ben = console(hub, "ana"), console(hub, "ben")
    sender = hub.queued_customer("I was charged twice for November")
    claim(ana, "charged twice")
    page = ana.page

    # Refused (no such agent): said in the form, and nothing changes.
    page.get_by_label("Agent's username").fill("nobody")
    page.get_by_label("Note for whoever takes it over").fill("please take it")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator("#transfer-error")).to_contain_text("no agent nobody")
    expect(page.locator("#escalation")).to_contain_text("Ana (ana)")

    page.get_by_label("Transfer to").select_option("team")
    expect(page.locator("#transfer-to-label")).to_have_text("Team name")
    page.get_by_label("Team name").fill("billing")
    page.get_by_label("Note for whoever takes it over").fill("Double charge: billing, please.")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator("#status")).to_have_text("Transferred to the billing team's queue.")
    expect(page.locator("#escalation")).to_contain_text("queued")
    expect(page.locator("#escalation")).to_contain_text("billing")
    expect(waiting_item(page, "charged twice")).to_contain_text("team billing")
    expect(waiting_item(ben.page, "charged twice")).to_contain_text("team billing")

    conversation_id = hub.conversation_id(sender, ben.token)
    (transfer,) = hub.api(f"/api/agent/conversations/{conversation_id}", ben.token)["escalation"]["transfers"]
    assert (transfer["from"], transfer["to_team"], transfer["note"]) == (
        "ana",
        "billing",
        "Double charge: billing, please.",
    )


def test_follow_up_is_listed_and_marked_done(hub: Hub, console: ConsoleFactory) -> None:
    # Nobody is online: the hub offers to take a message with an email address, and the customer leaves one.
    sender = hub.queued_customer("my landline has no dial tone")
    answer = hub.say(sender, "Please write to me at marta.follow@example.com, I will be out")
    assert "marta.follow@example.com" in answer[-1]["text"]

    ana = console(hub, "ana")
    page = ana.page
    item = page.locator("#follow-ups .item", has_text="marta.follow@example.com")
    expect(item).to_contain_text("Please write to me at marta.follow@example.com, I will be out")
    note_box = item.get_by_label("How the customer was answered")
    note_box.fill("Emailed her: engineer booked for Tuesday.")
    note_box.press("Enter")  # the keyboard submits
    expect(page.locator("#follow-ups-status")).to_have_text("Follow-up for marta.follow@example.com marked done.")
    expect(item).to_have_count(0)
    expect(page.locator("#follow-ups")).to_contain_text("No open follow-ups")

    (done,) = hub.api("/api/agent/follow-ups", ana.token, state="done")["follow_ups"]
    assert (done["email"], done["done_by"], done["note"]) == (
        "marta.follow@example.com",
        "ana",
        "Emailed her: engineer booked for Tuesday.",
    )
    assert hub.api("/api/agent/follow-ups", ana.token)["follow_ups"] == []


def test_supervisor_sees_wait_alerts_live_and_agents_do_not(
    start_hub: Callable[..., Hub], console: ConsoleFactory
) -> None:
    hub = start_hub(CANDOR_WAIT_ALERT_SECONDS="1", CANDOR_SWEEP_INTERVAL="1")
    ben, ana = console(hub, "ben"), console(hub, "ana")
    asked: list[str] = []
    ana.page.on("request", lambda request: asked.append(request.url))
    panel = ben.page.get_by_role("region", name="Waiting alerts")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("No conversation has waited too long")
    ben.page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    sender = hub.queued_customer("nobody has answered me for ages")
    conversation_id = hub.conversation_id(sender, ben.token)
    alert = panel.locator(".item", has_text=f"Conversation {conversation_id} waiting")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(sender)
    expect(alert).to_contain_text("bot_unavailable")
    assert ben.page.evaluate("window.__sameDocument") is True

    # An agent's console has no such panel and never asks; the hub refuses them anyway.
    expect(ana.page.locator("#alerts-panel")).to_be_hidden()
    expect(ana.page.get_by_role("region", name="Waiting alerts")).to_have_count(0)
    assert hub.get("/api/agent/wait-alerts", ana.token).status_code == 403
    assert not [url for url in asked if "/wait-alerts" in url]

    # Claimed, it stops waiting: the alert goes, still without a reload.
    claim(ana, "nobody has answered me")
    expect(alert).to_have_count(0)
    assert ben.page.evaluate("window.__sameDocument") is True


def test_queue_and_open_conversation_update_without_reload(hub: Hub, console: ConsoleFactory) -> None:
    ana = console(hub, "ana")
    page = ana.page
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#waiting")).to_contain_text("Nobody waiting")
    sender = hub.queued_customer("my mobile data stopped working")
    waiting = waiting_item(page, "my mobile data stopped")  # it appears in the queue by itself
    expect(waiting).to_contain_text(re.compile(r"priority \d+ · bot unavailable · frustration \w+ · waiting"))
    claim(ana, "my mobile data stopped")
    hub.say(sender, "hello? are you there")
    expect(page.locator("#transcript .msg.customer", has_text="hello? are you there")).to_have_count(1)
    page.get_by_label("Reply").fill("Yes, I am looking at your line now.")
    page.get_by_label("Reply").press("Enter")
    expect(page.locator("#transcript .msg.agent", has_text="Yes, I am looking at your line now.")).to_have_count(1)
    assert any(m["text"] == "Yes, I am looking at your line now." for m in hub.chat(sender)["messages"])
    assert page.evaluate("window.__sameDocument") is True


XSS_IMG = "<img src=x onerror=window.__xss=1>"
XSS_SCRIPT = "<script>window.__xss=2</script>"


def test_customer_and_agent_text_is_shown_as_text(hub: Hub, console: ConsoleFactory) -> None:
    sender = hub.queued_customer(f"hi {XSS_IMG} there")
    hub.say(sender, f"{XSS_SCRIPT} mail me at x.follow@example.com {XSS_IMG.replace('=1', '=3')}")  # a follow-up

    ana = console(hub, "ana")
    page = ana.page
    expect(waiting_item(page, f"hi {XSS_IMG} there")).to_be_visible()  # the summary quotes the message
    expect(page.locator("#follow-ups")).to_contain_text(f"{XSS_SCRIPT} mail me at x.follow@example.com")
    claim(ana, f"hi {XSS_IMG} there")
    expect(page.locator("#transcript .msg.customer", has_text=XSS_SCRIPT)).to_have_count(1)

    agent_text = '<b>bold</b><img src=x onerror="window.__xss=4">'
    page.get_by_label("Reply").fill(agent_text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript .msg.agent", has_text=agent_text)).to_have_count(1)

    hub.say(sender, f"again {XSS_IMG}")  # arriving through the poll
    expect(page.locator("#transcript .msg.customer", has_text=f"again {XSS_IMG}")).to_have_count(1)
    page.wait_for_timeout(500)  # an image that failed to load would have fired onerror by now
    assert page.evaluate("window.__xss") is None
    assert page.locator("#app img, #app script, #app b").count() == 0


def test_controls_are_labelled_and_focus_is_visible(hub: Hub, console: ConsoleFactory) -> None:
    hub.queued_customer("the app will not let me log in")
    waiting = hub.queued_customer("nobody answers")
    hub.say(waiting, "write to me at z@example.com")  # nobody online yet: a follow-up
    ben = console(hub, "ben")  # a supervisor: every panel shows
    page = ben.page
    claim(ben, "the app will not let me log in")
    expect(page.locator("#follow-ups .item")).to_have_count(1)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, textarea')]
              .filter((c) => c.offsetParent !== null)
              .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                             && !(c.tagName === 'BUTTON' && c.textContent.trim()))
              .map((c) => c.outerHTML)"""
    )
    assert unlabelled == []
    # The keyboard reaches every control: from Log out, Shift+Tab is the presence control, and Tab from there
    # goes through the queue, the follow-ups, the conversation and its packet; the focused one has an outline.
    page.get_by_role("button", name="Log out").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "presence"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") not in ("", "none")
    describe = "(e => e.id || e.getAttribute('aria-label') || e.textContent.trim())(document.activeElement)"
    reached = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break  # past the last control
        reached.add(page.evaluate(describe))
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") not in ("", "none"), reached
    expected = {
        "logout",
        "reply",
        "Send",
        "transfer-kind",
        "transfer-to",
        "transfer-note",
        "Transfer",
        "note",
        "resolve",
    }
    assert expected <= reached, expected - reached
    assert any(name.startswith("Open conversation") for name in reached)
    assert "Done: follow-up for z@example.com" in reached


SAME_APOLOGY = "We're sorry for any inconvenience. Our engineers are working hard to resolve the issue."


def test_supervisors_watch_counts_the_frustration_trend_and_apology_sameness(hub: Hub, console: ConsoleFactory) -> None:
    ben, ana = console(hub, "ben"), console(hub, "ana")
    panel = ben.page.get_by_role("region", name="Overview")
    expect(panel).to_be_visible()
    expect(ben.page.locator("#sameness")).to_contain_text("0 apologies so far, too few to compare")
    expect(ben.page.locator("#trend-chart")).to_have_attribute("aria-label", "No escalations in the last 12 hours")

    # The bot sent the same apology to two customers of the open incident: the figure says so, live.
    for text in ("my internet is down", "no internet here either"):
        sender = hub.queued_customer(text)
        said = {"problem": "internet:isn't working", "text": SAME_APOLOGY, "incident_id": "INC-2041"}
        recorded = hub.client.post(
            f"/api/bot/conversations/{sender}/apologies", json=said, headers={"X-Candor-Service-Token": SERVICE_TOKEN}
        )
        assert recorded.status_code == 201, recorded.text
    expect(ben.page.locator("#sameness")).to_contain_text("2 apologies; sameness 1.00")
    expect(ben.page.locator("#sameness")).to_contain_text("100 % word-for-word copies")
    expect(ben.page.locator("#counts")).to_contain_text("Queued2")
    expect(ben.page.locator("#trend-chart")).to_have_attribute(
        "aria-label", "2 escalations in the last 12 hours, none with a frustration reading"
    )
    expect(ana.page.get_by_role("region", name="Overview")).to_have_count(0)  # supervisors only
    assert hub.get("/api/agent/overview", ana.token).status_code == 403
