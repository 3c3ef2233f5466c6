"""The README's screenshots of the chat widget and the agent console (`make screenshots`), made from a real scene.

Starts a hub process (`python -m handoff`, as tests/browser/conftest.py does: its own SQLite file in a temporary
folder, the demo seed, claim mode) with a scripted stand-in for Rasa instead of the bot (no model needed): it
answers each customer message from a short script and, when a customer asks for a person, escalates through the
hub's bot API (`POST /api/bot/conversations/{sender}/escalate`, with the frustration readings, the apologies it
made and a summary) and records a compensation offer (`POST /api/bot/compensations`), as Candor's action server
does. Then, in Debian's Chromium driven by Playwright (launched as tests/browser/chromium.py does):

- Marta Silva (C-1001, signed in with a customer token, as `python -m handoff.cli customer-token` makes) writes
  about the Lisbon fibre outage in the widget, is offered a bill credit, asks for a person;
- three more customers reach the queue through the REST webhook;
- agent Ana logs in to the console, claims João's conversation and Marta's, replies to Marta, who answers;
  João writes again (his conversation gets an unread count) and Ana starts a reply to Marta.

Writes docs/screenshots/widget.png and docs/screenshots/console.png. Run with the hub environment:
`.venv-hub/bin/python scripts/screenshots.py [--out DIR]`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import fake_rasa  # noqa: E402
from stack import free_port, wait_until_ready  # noqa: E402

from handoff import customer_tokens, models  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")  # as tests/browser/chromium.py: Playwright never downloads a browser here
SERVICE_TOKEN = secrets.token_urlsafe(24)
CUSTOMER_SECRET = secrets.token_urlsafe(32)
AGENT = ("ana", "candor-demo-ana")  # handoff/seed/demo.yml (handoff/README.md)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
WIDGET_VIEWPORT: ViewportSize = {"width": 800, "height": 800}


@dataclass(frozen=True)
class Turn:
    """What the scripted bot does with a customer message containing `match` (lower case)."""

    match: str
    reply: str
    score: float  # the frustration reading of the customer's message (docs/frustration.md: 0.30 / 0.50 / 0.80)
    apology: bool = False  # the reply is an apology (it goes to the agent's ledger)
    offer: dict[str, Any] | None = None  # a compensation offer recorded before replying
    escalate: dict[str, Any] | None = None  # reason, summary, problem, skills, trajectory: hand over to a person


OUTAGE_CREDIT = {
    "customer_id": "C-1001",
    "incident_id": "INC-2041",
    "rule": "outage-4h-plus",
    "kind": "bill_credit",
    "amount": "5.00",
    "agent_max_amount": "15.00",
    "currency": "EUR",
    "reason": "Fibre internet outage in Lisbon: major incident, 5.0 h affected",
}

SCRIPT = [
    Turn(
        "down since this morning",
        "I'm sorry your internet has been down since this morning, Marta. A damaged fibre cable between two "
        "exchanges cut service in parts of Lisbon; engineers are splicing in a replacement section, and we expect "
        "service back by 18:00 today.",
        0.34,
        apology=True,
    ),
    Turn(
        "third time this month",
        "Three times in a month is not the service you pay for. For this outage we'll put a 5.00 EUR credit on "
        "your next bill: would you like that?",
        0.62,
        offer=OUTAGE_CREDIT,
    ),
    Turn(
        "talk to a person",
        "I'm handing you to a person now, with everything you've told me, so you won't have to repeat it.",
        0.86,
        escalate={
            "reason": "customer_requested_human",
            "summary": "Marta (C-1001) has had no internet since this morning (Lisbon fibre outage, INC-2041); third "
            "outage this month, works from home with a client call at 15:00. Offered a 5.00 EUR credit: no answer.",
            "problem": "internet down",
            "skills": ["internet"],
            "trajectory": {"trend": "rising", "level": "high", "score": 0.86, "causes": ["rising_frustration"]},
        },
    ),
    Turn(
        "tv and internet both",
        "I'm sorry, João: there's a fibre outage in Lisbon affecting internet and TV. Engineers expect service "
        "back by 18:00 today.",
        0.41,
        apology=True,
    ),
    Turn(
        "someone who can check my line",
        "Of course, I'll get a person to look at your line.",
        0.57,
        escalate={
            "reason": "customer_requested_human",
            "summary": "João (C-1002, premium) lost TV and internet at lunch; wants his line checked beyond the "
            "Lisbon outage.",
            "problem": "TV and internet down",
            "skills": ["tv"],
            "trajectory": {"trend": "rising", "level": "medium", "score": 0.57, "causes": []},
        },
    ),
    Turn(
        "mobile data is crawling",
        "That sounds slow indeed. Let me get someone who can look at the network where you are.",
        0.52,
        escalate={
            "reason": "frustration",
            "summary": "Rui (C-1004) says mobile data in Porto has been very slow for two days.",
            "problem": "slow mobile data",
            "skills": ["mobile"],
            "trajectory": {"trend": "sustained", "level": "medium", "score": 0.52, "causes": ["repeated_problem"]},
        },
    ),
    Turn(
        "charged twice",
        "A double charge needs a person from billing: I'm passing you on.",
        0.31,
        escalate={
            "reason": "customer_requested_human",
            "summary": "A customer who is not signed in says November was charged twice.",
            "problem": "double charge",
            "skills": ["billing"],
            "trajectory": None,
        },
    ),
]
DEFAULT_REPLY = "Thanks, tell me a little more so I can help."


def level(score: float) -> str:
    return "high" if score >= 0.8 else "medium" if score >= 0.5 else "low" if score >= 0.3 else "none"


@dataclass
class ScriptedBot:
    """A stand-in for the Rasa server at `url`: answers `POST /webhooks/rest/webhook` from SCRIPT, and escalates and
    offers through the hub's bot API as Candor's action server does. Any other POST (a handback's tracker events)
    is answered 200."""

    hub_url: str
    seen: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    server: ThreadingHTTPServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = fake_rasa.serve(
            lambda path, body: self.answer(body["sender"], body["message"]) if path.startswith("/webhooks") else {}
        )

    @property
    def url(self) -> str:
        return fake_rasa.url_of(self.server)

    def answer(self, sender: str, message: str) -> list[dict[str, Any]]:
        turn = next((t for t in SCRIPT if t.match in message.lower()), None)
        state = self.seen.setdefault(sender, {"frustration": [], "apologies": []})
        score = turn.score if turn else 0.2
        state["frustration"].append({"score": score, "level": level(score), "text": message})
        text = turn.reply if turn else DEFAULT_REPLY
        if turn and turn.apology:
            state["apologies"].append({"text": text, "at": datetime.now(UTC).isoformat()})
        if turn and turn.offer:
            self.bot_api("/api/bot/compensations", {**turn.offer, "sender": sender})
        if turn and turn.escalate:
            body = {**turn.escalate, **state}
            escalated = self.bot_api(f"/api/bot/conversations/{sender}/escalate", body)
            text = f"{text} {escalated['notice']} Anything you type here goes straight to them."
        return [{"recipient_id": sender, "text": text}]

    def bot_api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.hub_url}{path}", json=body, headers={"X-Candor-Service-Token": SERVICE_TOKEN})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def hub_process(workdir: Path) -> Iterator[tuple[str, ScriptedBot]]:
    """The hub on a free port with its own database, and the scripted bot it talks to."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = ScriptedBot(hub_url=url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "CANDOR_SERVICE_TOKEN": SERVICE_TOKEN,
            "CANDOR_CUSTOMER_TOKEN_SECRET": CUSTOMER_SECRET,
            "CANDOR_HUB_HOST": "127.0.0.1",
            "CANDOR_HUB_PORT": str(port),
            "CANDOR_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}",
            "CANDOR_RASA_URL": bot.url,
            "CANDOR_RASA_TIMEOUT": "10",
            "CANDOR_SEED_FILE": str(ROOT / "handoff" / "seed" / "demo.yml"),
            "CANDOR_ASSIGNMENT": "claim",
        }
    )
    log = workdir / "hub.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "handoff"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_until_ready({"hub": (process, f"{url}/health", log)}, timeout=60)
        yield url, bot
    except BaseException:
        print(f"hub log: {log}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]), file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        bot.stop()


def customer_token(customer_id: str) -> str:
    """What the customer's site gives its chat (as `python -m handoff.cli customer-token` makes it)."""
    return customer_tokens.mint(customer_id, CUSTOMER_SECRET, models.utcnow())


def rest_customer(hub: str, sender: str, customer_id: str | None, text: str) -> None:
    metadata = {"customer_token": customer_token(customer_id)} if customer_id else {}
    response = httpx.post(
        f"{hub}/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata}
    )
    response.raise_for_status()


def launch(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: `apt-get install chromium`")
    # As tests/browser/chromium.py: without Chromium's sandbox, which refuses to start as root (our pages, loopback).
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, chromium_sandbox=False)


def customer_says(chat: Page, text: str, answered: str) -> None:
    chat.get_by_label("Message").fill(text)
    chat.get_by_label("Message").press("Enter")
    expect(chat.locator("#log .msg", has_text=answered).last).to_be_visible()


def make_scene(hub: str, browser: Browser, out: Path, workdir: Path) -> None:
    agent = browser.new_context(viewport=VIEWPORT)
    console = agent.new_page()
    console.goto(f"{hub}/console")
    console.get_by_label("Username", exact=True).fill(AGENT[0])
    console.get_by_label("Password", exact=True).fill(AGENT[1])
    console.get_by_role("button", name="Log in").click()
    expect(console.locator("#profile")).to_be_visible()

    customer = browser.new_context(viewport=WIDGET_VIEWPORT)
    chat = customer.new_page()
    chat.goto(f"{hub}/?token={customer_token('C-1001')}")
    customer_says(chat, "Hi, my internet has been down since this morning", "damaged fibre cable")
    customer_says(chat, "I work from home and this is the third time this month!", "5.00 EUR credit")

    joao = f"shot-joao-{secrets.token_hex(8)}"
    rest_customer(hub, joao, "C-1002", "My TV and internet both dropped at lunch, again")
    rest_customer(hub, joao, "C-1002", "Please, someone who can check my line")
    rui = f"shot-rui-{secrets.token_hex(8)}"
    rest_customer(hub, rui, "C-1004", "My mobile data is crawling since Monday")
    rest_customer(hub, f"shot-anon-{secrets.token_hex(8)}", None, "I was charged twice for November")
    # Rui has waited a while, so the queue shows its long-wait cue: his escalation's start is moved back 7 minutes.
    with sqlite3.connect(workdir / "hub.db") as db:
        db.execute(
            "UPDATE escalations SET created_at = datetime(created_at, '-7 minutes') "
            "WHERE conversation_id = (SELECT id FROM conversations WHERE sender = ?)",
            (rui,),
        )

    customer_says(chat, "I don't want a credit, I want it working. Can I talk to a person?", "handing you to a person")

    waiting = console.locator("#waiting .item")
    waiting.filter(has_text="João Pereira").get_by_role("button").click()
    expect(console.locator("#transcript")).to_contain_text("check my line")
    waiting.filter(has_text="Marta Silva").get_by_role("button").click()
    expect(console.locator("#transcript")).to_contain_text("talk to a person")
    console.get_by_label("Reply").fill(
        "Hi Marta, I'm Ana. I can see the cable repair in your area and I'll stay with you until it's back."
    )
    console.get_by_label("Reply").press("Enter")
    expect(chat.locator("#log .msg.agent")).to_be_visible()
    customer_says(chat, "Thank you. Will it be back before my 3 o'clock call?", "before my 3 o'clock call")
    expect(console.locator("#transcript")).to_contain_text("before my 3 o'clock call")

    rest_customer(hub, joao, "C-1002", "The box now shows error E-201")
    expect(console.locator("#mine .item", has_text="João Pereira").locator(".unread-count")).to_have_text("1 new")
    console.get_by_label("Reply").fill("Engineers expect it back by 18:00, so not before 3pm.")
    expect(console.locator("#waiting .badge.attention")).to_be_visible()
    chat.evaluate("document.activeElement.blur()")
    console.wait_for_timeout(500)

    out.mkdir(parents=True, exist_ok=True)
    chat.screenshot(path=str(out / "widget.png"))
    console.screenshot(path=str(out / "console.png"))
    agent.close()
    customer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    args = parser.parse_args()
    expect.set_options(timeout=20_000)
    with tempfile.TemporaryDirectory(prefix="candor-screenshots-") as folder:
        workdir = Path(folder)
        with hub_process(workdir) as (hub, _bot), sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                make_scene(hub, browser, args.out, workdir)
            finally:
                browser.close()
    for name in ("widget.png", "console.png"):
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
