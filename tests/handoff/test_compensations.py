"""The compensation lifecycle over real HTTP into the real hub and database: offered once, answered by the
customer, approved or overridden by agents within the offer's limit, every decision audited."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_bot import OFFER
from test_migrations import legacy_file

from handoff.repository import Repository, create_engine

DECISIONS = ("compensation_accepted", "compensation_declined", "compensation_approved", "compensation_overridden")


async def conversation(hub: Any, customer_id: str | None = "C-1001") -> tuple[str, int]:
    """A new conversation of that customer: (sender, conversation id)."""
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down", customer_id=customer_id)
    found = await hub.repository.conversation_by_sender(sender)
    return sender, found.id


async def offer(hub: Any, sender: str | None, **changes: Any) -> dict[str, Any]:
    response = await hub.client.post(
        "/api/bot/compensations", json={**OFFER, "sender": sender, **changes}, headers=hub.bot_headers
    )
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


async def answer(hub: Any, compensation_id: int, sender: str, reply: str, **shown: Any) -> httpx.Response:
    """The customer's answer; `amount=` the amount they were shown (left out: no amount sent)."""
    response: httpx.Response = await hub.client.post(
        f"/api/bot/compensations/{compensation_id}/answer",
        json={"sender": sender, "answer": reply, **shown},
        headers=hub.bot_headers,
    )
    return response


async def context_offer(hub: Any, sender: str) -> dict[str, Any] | None:
    """The `compensation` of the bot's context for that sender."""
    response = await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] | None = response.json()["compensation"]
    return found


async def set_incident(hub: Any, headers: dict[str, str], incident_id: str, status: str) -> None:
    response = await hub.client.patch(f"/api/agent/incidents/{incident_id}", json={"status": status}, headers=headers)
    assert response.status_code == 200, response.text


async def approve(hub: Any, compensation_id: int, headers: dict[str, str]) -> httpx.Response:
    response: httpx.Response = await hub.client.post(
        f"/api/agent/compensations/{compensation_id}/approve", headers=headers
    )
    return response


async def override(hub: Any, compensation_id: int, headers: dict[str, str], **body: Any) -> httpx.Response:
    response: httpx.Response = await hub.client.post(
        f"/api/agent/compensations/{compensation_id}/override",
        json={"amount": "10.00", "reason": "Customer also lost a day of work", **body},
        headers=headers,
    )
    return response


async def stored(hub: Any, compensation_id: int) -> dict[str, Any]:
    record: dict[str, Any] = (await hub.repository.compensation_by_id(compensation_id)).model_dump(mode="json")
    return record


async def decisions(hub: Any, conversation_id: int) -> list[dict[str, Any]]:
    return [row for row in await hub.repository.audit_trail(conversation_id) if row["action"] in DECISIONS]


def assert_a_chain(rows: list[dict[str, Any]], first: dict[str, str], final: dict[str, Any]) -> None:
    """Each decision starts from what the one before it left: none was taken on a stale read."""
    current = first
    for row in rows:
        assert row["detail"]["before"] == current, rows
        current = row["detail"]["after"]
    assert current == {"amount": final["amount"], "status": final["status"]}


# Recording -----------------------------------------------------------------------------------------


async def test_an_offer_is_recorded_once_with_its_rule_reason_and_limit(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender, amount=5, agent_max_amount="15")
    assert record == record | {
        "customer_id": "C-1001",
        "incident_id": "INC-2041",
        "conversation_id": conversation_id,
        "rule": "outage-4h-plus",
        "reason": OFFER["reason"],
        "amount": "5.00",
        "original_amount": "5.00",
        "agent_max_amount": "15.00",
        "status": "offered",
        "decided_by": None,
        "decided_at": None,
    }
    again = await hub.client.post(
        "/api/bot/compensations",
        json={**OFFER, "sender": sender, "amount": "9.00", "agent_max_amount": "20.00", "status": "pending_approval"},
        headers=hub.bot_headers,
    )
    assert again.status_code == 200 and again.json() == record
    assert (await hub.repository.counts())["compensations"] == 1
    context = (await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)).json()
    assert context["compensation"] == record
    (recorded,) = [r for r in await hub.repository.audit_trail(conversation_id) if r["action"].startswith("comp")]
    assert recorded["actor"] == "bot" and recorded["action"] == "compensation_recorded"
    assert recorded["detail"] == recorded["detail"] | {
        "rule": "outage-4h-plus",
        "amount": "5.00",
        "agent_max_amount": "15.00",
        "status": "offered",
    }


# The customer's answer -----------------------------------------------------------------------------


async def test_the_customer_accepts_once_and_a_repeat_changes_nothing(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender)
    response = await answer(hub, record["id"], sender, "accepted")
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted == record | {
        "status": "accepted",
        "decided_by": f"customer:{sender}",
        "decided_at": accepted["decided_at"],
        "updated_at": accepted["updated_at"],
    }
    assert accepted["decided_at"] == accepted["updated_at"]
    assert datetime.fromisoformat(accepted["updated_at"]) > datetime.fromisoformat(record["updated_at"])
    assert await stored(hub, record["id"]) == accepted
    (row,) = await decisions(hub, conversation_id)
    assert (row["actor"], row["action"]) == (f"customer:{sender}", "compensation_accepted")
    assert row["detail"] == row["detail"] | {
        "compensation_id": record["id"],
        "before": {"amount": "5.00", "status": "offered"},
        "after": {"amount": "5.00", "status": "accepted"},
    }
    audit = (await hub.repository.counts())["audit"]

    repeat = await answer(hub, record["id"], sender, "accepted")
    assert repeat.status_code == 200 and repeat.json() == accepted
    assert (await hub.repository.counts())["audit"] == audit
    context = (await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)).json()
    assert context["compensation"] == accepted


async def test_the_customer_declines_and_a_repeat_changes_nothing(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender)
    declined = await answer(hub, record["id"], sender, "declined")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert declined.json()["decided_by"] == f"customer:{sender}"
    audit = (await hub.repository.counts())["audit"]
    repeat = await answer(hub, record["id"], sender, "declined")
    assert repeat.status_code == 200 and repeat.json() == declined.json()
    assert (await hub.repository.counts())["audit"] == audit
    assert [r["action"] for r in await decisions(hub, conversation_id)] == ["compensation_declined"]


async def test_an_offer_pending_approval_cannot_be_accepted_until_an_agent_approves_it(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender, amount="30.00", agent_max_amount="50.00", status="pending_approval")
    refused = await answer(hub, record["id"], sender, "accepted")
    assert refused.status_code == 409 and "awaits an agent's approval" in refused.json()["error"]
    assert await stored(hub, record["id"]) == record

    headers = await hub.login("ana")
    approved = await approve(hub, record["id"], headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["compensation"] == record | {
        "status": "approved",
        "decided_by": "agent:ana",
        "decided_at": approved.json()["compensation"]["decided_at"],
        "updated_at": approved.json()["compensation"]["updated_at"],
    }
    accepted = await answer(hub, record["id"], sender, "accepted")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    rows = await decisions(hub, conversation_id)
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("agent:ana", "compensation_approved"),
        (f"customer:{sender}", "compensation_accepted"),
    ]
    assert_a_chain(rows, {"amount": "30.00", "status": "pending_approval"}, accepted.json())


STARTS: dict[str, list[tuple[str, str]]] = {
    # how to bring a new offer to each status: (who, what) after recording it
    "offered": [],
    "pending_approval": [],
    "accepted": [("customer", "accepted")],
    "declined": [("customer", "declined")],
    "approved": [("agent", "approve")],
}
# (status, decision) → the status after it, "same" (200, nothing changes, no audit row) or the 409's words
TRANSITIONS: dict[tuple[str, str], str] = {
    ("offered", "accepted"): "accepted",
    ("offered", "declined"): "declined",
    ("offered", "approve"): "409 is offered: only an offer pending approval can be approved",
    ("offered", "override"): "approved",
    ("pending_approval", "accepted"): "409 awaits an agent's approval",
    ("pending_approval", "declined"): "declined",
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "override"): "approved",
    ("accepted", "accepted"): "same",
    ("accepted", "declined"): "409 is accepted already: it cannot be declined now",
    ("accepted", "approve"): "409 is accepted: only an offer pending approval can be approved",
    ("accepted", "override"): "409 is accepted: it is already on the customer's bill",
    ("declined", "accepted"): "409 is declined already: it cannot be accepted now",
    ("declined", "declined"): "same",
    ("declined", "approve"): "409 is declined: only an offer pending approval can be approved",
    ("declined", "override"): "approved",
    ("approved", "accepted"): "accepted",
    ("approved", "declined"): "declined",
    ("approved", "approve"): "same",
    ("approved", "override"): "approved",
}


@pytest.mark.parametrize(("start", "decision"), sorted(TRANSITIONS))
async def test_every_transition(hub: Any, start: str, decision: str) -> None:
    sender, conversation_id = await conversation(hub)
    status = "pending_approval" if start in ("pending_approval", "approved") else "offered"
    record = await offer(hub, sender, status=status)
    headers = await hub.login("ana")
    for who, what in STARTS[start]:
        response = await (
            answer(hub, record["id"], sender, what) if who == "customer" else approve(hub, record["id"], headers)
        )
        assert response.status_code == 200, response.text
    before, audit = await stored(hub, record["id"]), (await hub.repository.counts())["audit"]
    assert before["status"] == start

    if decision in ("accepted", "declined"):
        response = await answer(hub, record["id"], sender, decision)
        after = response.json() if response.status_code == 200 else None
    else:
        response = await (
            approve(hub, record["id"], headers) if decision == "approve" else override(hub, record["id"], headers)
        )
        after = response.json()["compensation"] if response.status_code == 200 else None

    expected = TRANSITIONS[(start, decision)]
    if expected.startswith("409"):
        assert response.status_code == 409, response.text
        assert expected[4:] in response.json()["error"]
        assert f"compensation {record['id']}" in response.json()["error"]
        assert await stored(hub, record["id"]) == before
        assert (await hub.repository.counts())["audit"] == audit
    elif expected == "same":
        assert response.status_code == 200 and after == before
        assert (await hub.repository.counts())["audit"] == audit
    else:
        assert response.status_code == 200, response.text
        assert after == await stored(hub, record["id"]) and after is not None and after["status"] == expected
        assert after["original_amount"] == "5.00" and after["agent_max_amount"] == "15.00"
        assert after["decided_by"] == (f"customer:{sender}" if decision in ("accepted", "declined") else "agent:ana")
        assert (await hub.repository.counts())["audit"] == audit + 1
        last = (await decisions(hub, conversation_id))[-1]
        assert last["detail"]["before"] == {"amount": before["amount"], "status": start}
        assert last["detail"]["after"] == {"amount": after["amount"], "status": expected}


async def test_only_a_conversation_of_the_offers_customer_may_answer_it(hub: Any) -> None:
    owner, _ = await conversation(hub, "C-1001")
    record = await offer(hub, owner)
    stranger, _ = await conversation(hub, "C-1002")
    anonymous, _ = await conversation(hub, None)  # a conversation linked to no customer
    audit = (await hub.repository.counts())["audit"]
    unknown = await answer(hub, 4242, owner, "accepted")
    assert unknown.status_code == 404
    for sender in (stranger, anonymous, "never-wrote-here"):
        for reply in ("accepted", "declined"):
            response = await answer(hub, record["id"], sender, reply)
            # the same words as for an id that does not exist: another customer's offer is not revealed
            assert response.status_code == 404, response.text
            assert response.json()["error"] == unknown.json()["error"].replace("4242", str(record["id"]))
    assert await stored(hub, record["id"]) == record
    assert (await hub.repository.counts())["audit"] == audit

    # the same customer in another conversation (another device) may answer
    again, again_id = await conversation(hub, "C-1001")
    response = await answer(hub, record["id"], again, "declined")
    assert response.status_code == 200 and response.json()["decided_by"] == f"customer:{again}"
    assert [r["action"] for r in await decisions(hub, again_id)] == ["compensation_declined"]


async def test_the_customer_answers_the_amount_they_were_shown(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender)
    headers = await hub.login("ben")
    raised = (await override(hub, record["id"], headers, amount="12")).json()["compensation"]
    assert raised["amount"] == "12.00"
    audit = (await hub.repository.counts())["audit"]
    # the bot showed 5.00 before the override: neither answer is taken for 12.00
    for reply, shown in (("accepted", "5.00"), ("accepted", 5), ("declined", "5.00"), ("accepted", "12.01")):
        response = await answer(hub, record["id"], sender, reply, amount=shown)
        assert response.status_code == 409, response.text
        assert response.json()["error"] == (
            f"compensation {record['id']} is now 12.00 EUR, not {Decimal(str(shown)):.2f} EUR: "
            "show the customer the new amount first"
        )
    assert await stored(hub, record["id"]) == raised
    assert (await hub.repository.counts())["audit"] == audit

    # shown the new amount ("12" and "12.00" are the same amount), the customer's acceptance is taken
    accepted = await answer(hub, record["id"], sender, "accepted", amount="12")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["amount"] == "12.00"
    rows = await decisions(hub, conversation_id)
    assert [r["action"] for r in rows] == ["compensation_overridden", "compensation_accepted"]
    assert rows[-1]["detail"]["after"] == {"amount": "12.00", "status": "accepted"}
    audit = (await hub.repository.counts())["audit"]
    # repeating it: the same amount changes nothing; another amount is not the answer recorded
    repeat = await answer(hub, record["id"], sender, "accepted", amount=12)
    assert repeat.status_code == 200 and repeat.json() == accepted.json()
    stale = await answer(hub, record["id"], sender, "accepted", amount="5.00")
    assert stale.status_code == 409 and "is now 12.00 EUR, not 5.00 EUR" in stale.json()["error"]
    # without an amount the answer is taken as before
    assert (await answer(hub, record["id"], sender, "accepted")).json() == accepted.json()
    assert (await hub.repository.counts())["audit"] == audit


async def test_an_answer_with_the_amount_shown_is_taken_and_a_refused_move_says_why_first(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender)
    declined = await answer(hub, record["id"], sender, "declined", amount="5")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert [r["action"] for r in await decisions(hub, conversation_id)] == ["compensation_declined"]
    # a move the status does not allow is refused for that reason, whatever the amount says
    refused = await answer(hub, record["id"], sender, "accepted", amount="9.00")
    assert refused.status_code == 409 and "is declined already: it cannot be accepted now" in refused.json()["error"]

    pending = await offer(
        hub, sender, incident_id="INC-2033", amount="30", agent_max_amount="50", status="pending_approval"
    )
    waiting = await answer(hub, pending["id"], sender, "accepted", amount="1.00")
    assert waiting.status_code == 409 and "awaits an agent's approval" in waiting.json()["error"]
    assert await stored(hub, pending["id"]) == pending


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"answer": "accepted"}, "sender"),
        ({"sender": "s1-0123456789abcdef"}, "answer"),
        ({"sender": "s1-0123456789abcdef", "answer": "maybe"}, "answer"),
        ({"sender": "a b", "answer": "accepted"}, "sender"),
        ({"sender": 7, "answer": "accepted"}, "sender"),
        ({"sender": "s1-0123456789abcdef", "answer": "accepted", "amount": "-1"}, "amount"),
        ({"sender": "s1-0123456789abcdef", "answer": "accepted", "amount": "5.001"}, "amount"),
        ({"sender": "s1-0123456789abcdef", "answer": "accepted", "amount": "five"}, "amount"),
        ({"sender": "s1-0123456789abcdef", "answer": "accepted", "amount": True}, "amount"),
    ],
)
async def test_bad_answers_are_400(hub: Any, body: dict[str, Any], word: str) -> None:
    sender, _ = await conversation(hub)
    record = await offer(hub, sender)
    response = await hub.client.post(
        f"/api/bot/compensations/{record['id']}/answer", json=body, headers=hub.bot_headers
    )
    assert response.status_code == 400 and word in response.json()["error"]
    assert await stored(hub, record["id"]) == record


async def test_answers_need_the_service_token_and_agent_routes_an_agent(hub: Any) -> None:
    sender, _ = await conversation(hub)
    record = await offer(hub, sender)
    refused = await hub.client.post(
        f"/api/bot/compensations/{record['id']}/answer", json={"sender": sender, "answer": "accepted"}
    )
    assert refused.status_code == 401
    for response in (
        await hub.client.get("/api/agent/compensations"),
        await approve(hub, record["id"], {}),
        await override(hub, record["id"], {"Authorization": "Bearer not-a-session"}),
    ):
        assert response.status_code == 401
    assert await stored(hub, record["id"]) == record


# Agents ----------------------------------------------------------------------------------------------


async def test_agents_list_offers_newest_first_and_filter_by_status(hub: Any) -> None:
    headers = await hub.login("ana")
    first = await offer(hub, None, customer_id="C-1001")
    pending = await offer(
        hub, None, customer_id="C-1002", amount="30.00", agent_max_amount="40.00", status="pending_approval"
    )
    third = await offer(hub, None, customer_id="C-1005", incident_id="INC-2033")
    listed = await hub.client.get("/api/agent/compensations", headers=headers)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["compensations"]] == [third["id"], pending["id"], first["id"]]
    assert listed.json()["compensations"][1] == pending
    waiting = await hub.client.get("/api/agent/compensations", params={"status": "pending_approval"}, headers=headers)
    assert waiting.json() == {"compensations": [pending]}
    assert (await approve(hub, pending["id"], headers)).status_code == 200
    waiting = await hub.client.get("/api/agent/compensations?status=pending_approval", headers=headers)
    assert waiting.json() == {"compensations": []}
    everything = await hub.client.get("/api/agent/compensations?status=", headers=headers)
    assert len(everything.json()["compensations"]) == 3
    bad = await hub.client.get("/api/agent/compensations?status=paid", headers=headers)
    assert bad.status_code == 400 and "pending_approval" in bad.json()["error"] and "'paid'" in bad.json()["error"]


async def test_approving_is_audited_once_and_an_unknown_offer_is_404(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender, status="pending_approval")
    ana, ben = await hub.login("ana"), await hub.login("ben")
    first = await approve(hub, record["id"], ana)
    assert first.status_code == 200 and first.json()["compensation"]["decided_by"] == "agent:ana"
    second = await approve(hub, record["id"], ben)  # already approved: unchanged, still ana's
    assert second.status_code == 200 and second.json() == first.json()
    (row,) = await decisions(hub, conversation_id)
    assert (row["actor"], row["action"], row["detail"]["agent"]) == ("agent:ana", "compensation_approved", "ana")
    for response in (await approve(hub, 4242, ana), await override(hub, 4242, ana)):
        assert response.status_code == 404 and "4242" in response.json()["error"]


async def test_an_override_within_the_limit_is_approved_and_audited_with_before_and_after(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender)
    headers = await hub.login("ben")
    response = await override(hub, record["id"], headers, amount="12.5", reason="  Three days without service  ")
    assert response.status_code == 200, response.text
    overridden = response.json()["compensation"]
    assert overridden == record | {
        "amount": "12.50",
        "status": "approved",
        "decided_by": "agent:ben",
        "decided_at": overridden["decided_at"],
        "updated_at": overridden["updated_at"],
    }
    assert overridden["original_amount"] == "5.00"  # the policy's amount stays on record
    (row,) = await decisions(hub, conversation_id)
    assert (row["actor"], row["action"]) == ("agent:ben", "compensation_overridden")
    assert row["detail"] == {
        "compensation_id": record["id"],
        "customer_id": "C-1001",
        "incident_id": "INC-2041",
        "before": {"amount": "5.00", "status": "offered"},
        "after": {"amount": "12.50", "status": "approved"},
        "reason": "Three days without service",
        "agent": "ben",
    }
    at_limit = await override(hub, record["id"], headers, amount=15)
    at_floor = await override(hub, record["id"], headers, amount="5")  # back down to the policy's amount
    assert (at_limit.status_code, at_floor.status_code) == (200, 200)
    assert at_floor.json()["compensation"]["amount"] == "5.00"
    rows = await decisions(hub, conversation_id)
    assert len(rows) == 3  # every override is audited
    assert_a_chain(rows, {"amount": "5.00", "status": "offered"}, at_floor.json()["compensation"])
    accepted = await answer(hub, record["id"], sender, "accepted")
    assert accepted.status_code == 200 and accepted.json()["amount"] == "5.00"


FLOOR = "the policy gives this customer at least 5.00 EUR; an override may raise it up to 15.00 EUR, not lower it"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"amount": "15.01"}, 400, "above the most an agent may set for compensation {id}: 15.00 EUR"),
        ({"amount": 16}, 400, "15.00 EUR"),
        ({"amount": "4.99"}, 400, FLOOR),
        ({"amount": 0}, 400, "amount 0.00 EUR is below the policy's amount for compensation {id}: " + FLOOR),
        ({"amount": "-1"}, 400, "amount"),
        ({"amount": "1.001"}, 400, "amount"),
        ({"amount": "100000.01"}, 400, "amount"),
        ({"amount": "ten"}, 400, "amount"),
        ({"reason": ""}, 400, "reason"),
        ({"reason": "   "}, 400, "reason"),
        ({"reason": "x" * 1001}, 400, "reason"),
        ({"reason": None}, 400, "reason"),
    ],
)
async def test_bad_overrides_are_refused_and_change_nothing(
    hub: Any, body: dict[str, Any], status: int, words: str
) -> None:
    sender, _ = await conversation(hub)
    record = await offer(hub, sender)
    headers = await hub.login("ana")
    audit = (await hub.repository.counts())["audit"]
    response = await override(hub, record["id"], headers, **body)
    assert response.status_code == status and words.format(id=record["id"]) in response.json()["error"], response.text
    assert await stored(hub, record["id"]) == record
    assert (await hub.repository.counts())["audit"] == audit
    missing = await hub.client.post(
        f"/api/agent/compensations/{record['id']}/override", json={"amount": "1.00"}, headers=headers
    )
    assert missing.status_code == 400 and "reason" in missing.json()["error"]


async def test_an_override_never_goes_below_what_the_policy_gave(hub: Any) -> None:
    sender, conversation_id = await conversation(hub)
    record = await offer(hub, sender, amount="30", agent_max_amount="50", status="pending_approval")
    headers = await hub.login("ana")
    raised = await override(hub, record["id"], headers, amount="40")
    assert raised.status_code == 200 and raised.json()["compensation"]["amount"] == "40.00"
    audit = (await hub.repository.counts())["audit"]
    for amount in ("29.99", "0", 10):
        response = await override(hub, record["id"], headers, amount=amount)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == (
            f"amount {Decimal(str(amount)):.2f} EUR is below the policy's amount for compensation {record['id']}: "
            "the policy gives this customer at least 30.00 EUR; an override may raise it up to 50.00 EUR, "
            "not lower it"
        )
    assert await stored(hub, record["id"]) == raised.json()["compensation"]
    assert (await hub.repository.counts())["audit"] == audit
    # a raise may be taken back down to the policy's amount, not below
    back = await override(hub, record["id"], headers, amount="30.00")
    assert back.status_code == 200 and back.json()["compensation"]["amount"] == "30.00"
    assert back.json()["compensation"]["original_amount"] == "30.00"
    assert len(await decisions(hub, conversation_id)) == 2
    # once accepted, the 409 comes first whatever the amount
    assert (await answer(hub, record["id"], sender, "accepted")).status_code == 200
    late = await override(hub, record["id"], headers, amount="1.00")
    assert late.status_code == 409 and "already on the customer's bill" in late.json()["error"]


async def test_an_accepted_offer_cannot_be_overridden(hub: Any) -> None:
    sender, _ = await conversation(hub)
    record = await offer(hub, sender)
    accepted = (await answer(hub, record["id"], sender, "accepted")).json()
    response = await override(hub, record["id"], await hub.login("ana"), amount="1.00")
    assert response.status_code == 409 and "already on the customer's bill" in response.json()["error"]
    assert await stored(hub, record["id"]) == accepted


# The bot's context ------------------------------------------------------------------------------------


async def test_an_offer_awaiting_a_decision_outlives_its_incident_in_the_context(hub: Any) -> None:
    sender, _ = await conversation(hub)
    headers = await hub.login("ana")
    record = await offer(hub, sender)  # for INC-2041, the open incident that affects C-1001
    assert await context_offer(hub, sender) == record
    await set_incident(hub, headers, "INC-2041", "resolved")
    context = (await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)).json()
    assert context["incident"] is None  # no incident is open any more
    assert context["compensation"] == record  # the offer still awaits the customer's answer

    accepted = await answer(hub, record["id"], sender, "accepted", amount="5.00")
    assert accepted.status_code == 200, accepted.text
    assert await context_offer(hub, sender) is None  # accepted, and its incident is over
    await set_incident(hub, headers, "INC-2041", "monitoring")  # reopened: the offer for it is back, accepted
    assert await context_offer(hub, sender) == accepted.json()


@pytest.mark.parametrize(
    ("steps", "shown"),
    [
        ([], True),  # offered
        ([("agent", "approve")], True),  # pending_approval, then approved
        ([("customer", "declined")], False),
        ([("customer", "accepted")], False),
    ],
)
async def test_after_its_incident_only_an_offer_awaiting_a_decision_is_in_the_context(
    hub: Any, steps: list[tuple[str, str]], shown: bool
) -> None:
    sender, _ = await conversation(hub)
    headers = await hub.login("ana")
    status = "pending_approval" if steps == [("agent", "approve")] else "offered"
    record = await offer(hub, sender, status=status)
    await set_incident(hub, headers, "INC-2041", "resolved")
    assert await context_offer(hub, sender) == record  # offered or pending_approval: awaits a decision
    for who, what in steps:
        response = await (
            answer(hub, record["id"], sender, what) if who == "customer" else approve(hub, record["id"], headers)
        )
        assert response.status_code == 200, response.text
    assert await context_offer(hub, sender) == (await stored(hub, record["id"]) if shown else None)


async def test_the_context_gives_the_offer_of_its_incident_else_the_latest_awaiting_one(hub: Any) -> None:
    sender, _ = await conversation(hub)
    headers = await hub.login("ana")
    older = await offer(hub, sender, incident_id="INC-2033")  # INC-2033 was resolved before the offer
    # no offer for INC-2041 (the context's incident) yet: the one for the resolved INC-2033 awaits an answer
    assert await context_offer(hub, sender) == older
    current = await offer(hub, sender)  # for INC-2041
    assert await context_offer(hub, sender) == current
    # the offer for the context's incident comes first, in whatever status
    accepted = (await answer(hub, current["id"], sender, "accepted")).json()
    assert await context_offer(hub, sender) == accepted

    # another incident for C-1001's region: once INC-2041 is resolved, the newest offer awaiting a decision
    opened = await hub.client.post(
        "/api/agent/incidents",
        json={"title": "TV outage in Lisbon", "severity": "minor", "services": ["tv"], "regions": ["Lisbon"]},
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    tv = opened.json()["incident"]["id"]
    newest = await offer(hub, sender, incident_id=tv, amount="2.00", agent_max_amount="4.00")
    await set_incident(hub, headers, tv, "resolved")
    await set_incident(hub, headers, "INC-2041", "resolved")
    assert await context_offer(hub, sender) == newest
    assert (await answer(hub, newest["id"], sender, "declined")).status_code == 200
    assert await context_offer(hub, sender) == older
    overridden = (await override(hub, older["id"], headers, amount="7.50")).json()["compensation"]
    assert await context_offer(hub, sender) == overridden  # approved at 7.50: awaits the customer's answer
    assert (await answer(hub, older["id"], sender, "accepted", amount="7.50")).status_code == 200
    assert await context_offer(hub, sender) is None

    # another customer's offers never show, and a conversation linked to no customer has none
    stranger, _ = await conversation(hub, "C-1002")
    assert await context_offer(hub, stranger) is None
    anonymous, _ = await conversation(hub, None)
    assert await context_offer(hub, anonymous) is None


# Races -----------------------------------------------------------------------------------------------

PAIRS = [(c, i) for i in ("INC-2041", "INC-2033") for c in ("C-1001", "C-1002", "C-1003", "C-1004", "C-1005")]


async def race(
    hub: Any, decide: Callable[[dict[str, Any], str], list[Awaitable[httpx.Response]]], **offered: Any
) -> None:
    """Several rounds, one new offer each: the decisions at once, then their outcome checked against the
    audit trail (one row per decision that answered 200, each starting from the one before)."""
    for customer_id, incident_id in PAIRS:
        sender, conversation_id = await conversation(hub, customer_id)
        record = await offer(hub, sender, customer_id=customer_id, incident_id=incident_id, **offered)
        responses = await asyncio.gather(*decide(record, sender))
        assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
        rows = await decisions(hub, conversation_id)
        changed = [r for r in responses if r.status_code == 200 and r.json() != record]
        assert len(rows) == len(changed)
        final = await stored(hub, record["id"])
        assert_a_chain(rows, {"amount": record["amount"], "status": record["status"]}, final)


async def test_two_overrides_at_once_apply_one_after_the_other(hub: Any) -> None:
    ana, ben = await hub.login("ana"), await hub.login("ben")

    def decide(record: dict[str, Any], _sender: str) -> list[Awaitable[httpx.Response]]:
        return [
            override(hub, record["id"], ana, amount="10.00", reason="ana's"),
            override(hub, record["id"], ben, amount="12.00", reason="ben's"),
        ]

    await race(hub, decide)
    for record in (await hub.client.get("/api/agent/compensations", headers=ana)).json()["compensations"]:
        assert record["status"] == "approved" and record["amount"] in ("10.00", "12.00")


async def test_an_approval_and_a_decline_at_once_are_applied_in_one_order(hub: Any) -> None:
    ana = await hub.login("ana")
    outcomes = set()

    def decide(record: dict[str, Any], sender: str) -> list[Awaitable[httpx.Response]]:
        return [approve(hub, record["id"], ana), answer(hub, record["id"], sender, "declined")]

    await race(hub, decide, status="pending_approval")
    for record in (await hub.client.get("/api/agent/compensations", headers=ana)).json()["compensations"]:
        # declined either way: approved then declined (two rows), or declined then the approval refused (one)
        assert record["status"] == "declined"
        outcomes.add(record["decided_by"].split(":")[0])
    assert outcomes == {"customer"}


async def test_an_acceptance_and_an_override_at_once_never_change_an_accepted_amount(hub: Any) -> None:
    ana = await hub.login("ana")

    def decide(record: dict[str, Any], sender: str) -> list[Awaitable[httpx.Response]]:
        return [answer(hub, record["id"], sender, "accepted"), override(hub, record["id"], ana, amount="14.00")]

    await race(hub, decide)
    for record in (await hub.client.get("/api/agent/compensations", headers=ana)).json()["compensations"]:
        # accepted either way: at 5.00 with the override refused, or at 14.00 after it; never changed once accepted
        assert record["status"] == "accepted" and record["amount"] in ("5.00", "14.00")


@pytest.mark.sqlite_only("edits a SQLite file into an older hub's")
async def test_a_database_from_before_the_lifecycle_is_refused_naming_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    legacy_file(path)  # what the hub's create_all made before migrations
    with sqlite3.connect(path) as old:  # as a hub from before the lifecycle made it
        for column in ("agent_max_amount", "original_amount", "decided_by", "decided_at", "updated_at"):
            old.execute(f"ALTER TABLE compensations DROP COLUMN {column}")
    again = Repository(create_engine(f"sqlite+aiosqlite:///{path}"))
    try:
        with pytest.raises(RuntimeError, match=r"lacks compensations\.original_amount, compensations\.agent_max"):
            await again.migrate()
    finally:
        await again.engine.dispose()
