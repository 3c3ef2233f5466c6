"""One incident, several customers, through the real Rasa server, action server and hub.

During the seed's open Lisbon fibre outage (INC-2041) three affected customers complain in their own
words. Each gets one apology naming their problem and the incident's fact, none the same text; a second
complaint gets no second apology; compensation follows the policy once per customer, whatever they ask;
a yes or a no is recorded; an agent overrides a declined offer within the policy's limit and the customer
then accepts it; after "stop apologising" nothing the bot says apologises.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from test_dialogue import bot_says
from test_whole_loop import texts

from actions.wording import banned_phrases_in, is_plain
from tests.e2e.conftest import AGENT, chat

CUSTOMERS = {  # customer id: (tier's form of an offer, their first message)
    "C-1001": ("credit on your next bill", "my internet has been down since this morning, I work from home"),
    "C-1002": ("credit on your next bill", "wifi keeps dropping every few minutes, ticket 5521"),
    "C-1005": ("credit note against your next invoice", "no internet at the office at all since 9am"),
}


def transcript(hub: httpx.Client, sender: str, customer_id: str) -> list[str]:
    return texts(chat(hub, sender, customer_id)["messages"], "bot")


def test_customers_in_one_incident_get_one_specific_distinct_apology_and_one_offer_each(hub: httpx.Client) -> None:
    senders = {customer: str(uuid.uuid4()) for customer in CUSTOMERS}

    apologies = {}
    for customer, (_, complaint) in CUSTOMERS.items():
        apology = bot_says(hub, senders[customer], complaint, customer)
        assert not is_plain(apology) and "fibre trunk cable" in apology, apology
        apologies[customer] = apology
    assert "internet connection hasn't been working since this morning" in apologies["C-1001"]
    assert "keeps dropping" in apologies["C-1002"] and "ticket 5521" in apologies["C-1002"].lower()
    assert len(set(apologies.values())) == len(CUSTOMERS)

    for customer in CUSTOMERS:  # the same problem again: facts or a person, never a second apology
        again = bot_says(hub, senders[customer], "it's still not working", customer)
        assert is_plain(again), again

    for customer, (form, _) in CUSTOMERS.items():
        offer = bot_says(hub, senders[customer], "do I get money back for this outage?", customer)
        assert f"EUR 5.00 {form}" in offer and "Shall I apply it?" in offer, offer
        repeat = bot_says(hub, senders[customer], "so how much compensation do I get?", customer)
        assert repeat.startswith("As offered earlier") and "EUR 5.00" in repeat, repeat

    assert "You accepted a EUR 5.00 credit" in bot_says(hub, senders["C-1001"], "yes", "C-1001")
    assert "no credit applied" in bot_says(hub, senders["C-1002"], "no thanks", "C-1002")

    auth = agent_login(hub)
    listed = hub.get("/api/agent/compensations", headers=auth).json()["compensations"]
    ours = [c for c in listed if c["customer_id"] in CUSTOMERS and c["incident_id"] == "INC-2041"]
    assert sorted(c["customer_id"] for c in ours) == sorted(CUSTOMERS)  # one offer each, never a second
    records = {c["customer_id"]: c for c in ours}
    assert {c["rule"] for c in ours} == {"outage-4h-plus"}
    assert (records["C-1001"]["status"], records["C-1002"]["status"], records["C-1005"]["status"]) == (
        "accepted",
        "declined",
        "offered",
    )

    declined = records["C-1002"]["id"]
    too_much = hub.post(
        f"/api/agent/compensations/{declined}/override", json={"amount": "150.00", "reason": "x"}, headers=auth
    )
    assert too_much.status_code == 400 and "100.00 EUR" in too_much.text
    override = hub.post(
        f"/api/agent/compensations/{declined}/override",
        json={"amount": "12.00", "reason": "two working days lost; the customer works from home"},
        headers=auth,
    )
    assert override.status_code == 200, override.text
    assert override.json()["compensation"]["original_amount"] == "5.00"

    news = bot_says(hub, senders["C-1002"], "any compensation for me after all?", "C-1002")
    assert "A team member has approved a EUR 12.00 credit" in news, news
    assert "You accepted a EUR 12.00 credit" in bot_says(hub, senders["C-1002"], "yes please", "C-1002")

    plain = bot_says(hub, senders["C-1005"], "stop apologising and just tell me when it's fixed", "C-1005")
    later = [plain, bot_says(hub, senders["C-1005"], "and the tv is off too now", "C-1005")]
    assert [t for t in later if not is_plain(t)] == [], later

    for customer, sender in senders.items():
        said = transcript(hub, sender, customer)
        assert [t for t in said if banned_phrases_in(t)] == []
        assert sum(not is_plain(t) for t in said) == 1, (customer, said)  # one apology in the whole conversation
    assert Decimal(records["C-1005"]["amount"]) == Decimal("5.00")


def agent_login(hub: httpx.Client) -> dict[str, str]:
    login = hub.post("/api/agent/login", json={"username": AGENT["username"], "password": AGENT["password"]})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}
