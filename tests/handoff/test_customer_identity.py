"""Who a chat belongs to: only a signed customer token links a directory customer, and a linked conversation
answers only that customer's token (handoff/customer_tokens.py, docs/hub-api.md "Customer identity")."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from handoff import customer_tokens, models
from handoff.errors import Unauthorized
from tests.handoff.conftest import CUSTOMER_SECRET, customer_token
from tests.handoff.test_cli import run_cli

WEBHOOK = "/webhooks/rest/webhook"


def new_sender() -> str:
    return str(uuid.uuid4())


async def post(hub: Any, sender: str, metadata: dict[str, Any], text: str = "my internet is down") -> Any:
    return await hub.client.post(WEBHOOK, json={"sender": sender, "message": text, "metadata": metadata})


async def test_a_signed_token_links_the_customer_and_stays_out_of_rasa(hub: Any, fake_rasa: Any) -> None:
    sender = new_sender()
    response = await post(hub, sender, {"customer_token": customer_token("C-1002"), "page": "/billing"})
    assert response.status_code == 200, response.text
    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.customer_id == "C-1002"
    ((_, forwarded),) = [c for c in fake_rasa.calls if c[0] == WEBHOOK]
    # The token is not copied into Rasa's tracker store; the hub adds its id for the message (the review inbox's).
    assert forwarded["metadata"] == {
        "page": "/billing",
        "candor_message_id": forwarded["metadata"]["candor_message_id"],
    }


async def test_a_bare_customer_id_is_not_believed(hub: Any) -> None:
    sender = new_sender()
    response = await post(hub, sender, {"customer_id": "C-1001"})
    assert response.status_code == 200, response.text  # the chat goes on, anonymously
    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.customer_id is None
    trail = await hub.repository.audit_trail(conversation.id)
    unsigned = [a for a in trail if a["action"] == "unsigned_customer_id"]
    assert [(a["actor"], a["detail"]) for a in unsigned] == [(f"customer:{sender}", {"customer_id": "C-1001"})]
    context = await hub.client.get(f"/api/bot/conversations/{sender}/context", headers=hub.bot_headers)
    assert context.json()["customer"] is None  # so the bot never reads C-1001's profile or offers to them


async def test_a_hub_told_to_trust_customer_ids_links_a_bare_one(start_hub: Any, make_settings: Any) -> None:
    hub = await start_hub(make_settings(CANDOR_TRUST_CUSTOMER_ID="1"))
    sender = new_sender()
    assert (await post(hub, sender, {"customer_id": "C-1001"})).status_code == 200
    assert (await hub.repository.conversation_by_sender(sender)).customer_id == "C-1001"
    assert (await hub.poll(sender, customer_id=None)).status_code == 200  # trusted: no token asked for


def forged(**claims: Any) -> str:
    now = int(models.utcnow().timestamp())
    return jwt.encode({"sub": "C-1001", "iat": now, "exp": now + 600, **claims}, CUSTOMER_SECRET, algorithm="HS256")


BAD_TOKENS = {
    "another secret": customer_token("C-1001", secret="not-the-hub-secret-0123456789abcdef"),
    "expired": forged(iat=int(models.utcnow().timestamp()) - 7200, exp=int(models.utcnow().timestamp()) - 3600),
    "lives two days": forged(exp=int(models.utcnow().timestamp()) + 2 * 86400),
    "no exp": jwt.encode({"sub": "C-1001"}, CUSTOMER_SECRET, algorithm="HS256"),
    "no sub": jwt.encode({"exp": int(models.utcnow().timestamp()) + 60}, CUSTOMER_SECRET, algorithm="HS256"),
    "alg none": jwt.encode({"sub": "C-1001", "exp": 4102444800}, None, algorithm="none"),
    "HS512": jwt.encode({"sub": "C-1001", "exp": 4102444800}, CUSTOMER_SECRET * 2, algorithm="HS512"),
    "garbage": "not.a.token",
    "not a string": 1001,
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
async def test_a_bad_token_is_refused_and_nothing_is_stored(hub: Any, fake_rasa: Any, kind: str) -> None:
    sender = new_sender()
    response = await post(hub, sender, {"customer_token": BAD_TOKENS[kind]})
    assert response.status_code == 401, response.text
    assert "customer_token" in response.json()["error"]
    assert await hub.repository.conversation_by_sender(sender) is None
    assert fake_rasa.calls == []


async def test_a_linked_conversation_answers_only_its_customers_token(hub: Any) -> None:
    sender = new_sender()
    await hub.say(sender, "my internet is down", customer_id="C-1001")
    conversation = await hub.repository.conversation_by_sender(sender)
    before = await hub.repository.messages(conversation.id)

    for metadata in ({}, {"customer_id": "C-1001"}, {"customer_token": customer_token("C-1002")}):
        response = await post(hub, sender, metadata, text="whose chat is this?")
        assert response.status_code == 401, metadata
        assert "signed-in customer" in response.json()["error"]
    assert await hub.repository.messages(conversation.id) == before  # refused messages are not stored

    assert (await hub.poll(sender, customer_id=None)).status_code == 401
    assert (await hub.poll(sender, customer_id="C-1002")).status_code == 401
    bad = await hub.client.get(f"/api/chat/{sender}/messages", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
    mine = await hub.poll(sender, customer_id="C-1001")
    assert mine.status_code == 200 and next(m["text"] for m in mine.json()["messages"]).startswith("bot heard")


async def test_an_anonymous_conversation_is_reached_by_its_sender_and_can_sign_in_later(hub: Any) -> None:
    sender = new_sender()
    await hub.say(sender, "hello", customer_id=None)
    assert (await hub.poll(sender, customer_id=None)).status_code == 200  # the unguessable sender is the key
    await hub.say(sender, "I'm signed in now", customer_id="C-1003")
    conversation = await hub.repository.conversation_by_sender(sender)
    assert conversation.customer_id == "C-1003"
    assert "customer_linked" in [a["action"] for a in await hub.repository.audit_trail(conversation.id)]
    assert (await hub.poll(sender, customer_id=None)).status_code == 401  # from now on it is the customer's


async def test_a_token_sent_to_a_hub_without_the_secret_is_refused_naming_the_setting(
    start_hub: Any, make_settings: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_CUSTOMER_TOKEN_SECRET=""))
    response = await post(hub, new_sender(), {"customer_token": customer_token("C-1001")})
    assert response.status_code == 401 and "CANDOR_CUSTOMER_TOKEN_SECRET" in response.json()["error"]


@pytest.mark.parametrize("sender", ["short", "x" * 15, "0123456789abcdef/", "0123456789 abcdef", "0123456789abcdef<b>"])
async def test_a_guessable_or_malformed_sender_is_refused(hub: Any, sender: str) -> None:
    response = await post(hub, sender, {})
    assert response.status_code == 400 and "sender" in response.json()["error"]


def test_a_site_clock_a_little_ahead_is_allowed_and_one_far_ahead_is_not() -> None:
    now = models.utcnow().replace(microsecond=0)
    stamp = int(now.timestamp())
    ahead = jwt.encode({"sub": "C-1001", "iat": stamp + 20, "exp": stamp + 600}, CUSTOMER_SECRET, algorithm="HS256")
    assert customer_tokens.verify(ahead, CUSTOMER_SECRET, now) == "C-1001"
    far = jwt.encode({"sub": "C-1001", "iat": stamp + 120, "exp": stamp + 600}, CUSTOMER_SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="not valid yet"):
        customer_tokens.verify(far, CUSTOMER_SECRET, now)


def test_tokens_round_trip_and_their_lifetime_is_bounded() -> None:
    now = models.utcnow().replace(microsecond=0)  # tokens count whole seconds
    token = customer_tokens.mint("C-1001", CUSTOMER_SECRET, now, timedelta(minutes=5))
    assert customer_tokens.verify(token, CUSTOMER_SECRET, now) == "C-1001"
    leeway = timedelta(seconds=customer_tokens.LEEWAY_SECONDS)
    assert customer_tokens.verify(token, CUSTOMER_SECRET, now + timedelta(minutes=5) + leeway) == "C-1001"
    with pytest.raises(Unauthorized, match="expired"):
        customer_tokens.verify(token, CUSTOMER_SECRET, now + timedelta(minutes=5) + leeway + timedelta(seconds=1))
    with pytest.raises(ValueError, match="at most"):
        customer_tokens.mint("C-1001", CUSTOMER_SECRET, now, timedelta(days=2))


def test_the_cli_mints_a_token_the_hub_accepts(tmp_path: Path) -> None:
    made = run_cli(
        tmp_path, "customer-token", "C-1004", "--minutes", "10", CANDOR_CUSTOMER_TOKEN_SECRET=CUSTOMER_SECRET
    )
    assert made.returncode == 0, made.stderr
    assert customer_tokens.verify(made.stdout.strip(), CUSTOMER_SECRET, models.utcnow()) == "C-1004"
    missing = run_cli(tmp_path, "customer-token", "C-1004", CANDOR_CUSTOMER_TOKEN_SECRET="")
    assert missing.returncode == 1 and "CANDOR_CUSTOMER_TOKEN_SECRET is not set" in missing.stderr
    too_long = run_cli(
        tmp_path, "customer-token", "C-1004", "--minutes", "2000", CANDOR_CUSTOMER_TOKEN_SECRET=CUSTOMER_SECRET
    )
    assert too_long.returncode == 1 and "at most" in too_long.stderr
