"""Rate limits: a burst over the limit is refused with 429 and Retry-After, and the refused request changes
nothing (handoff/rate_limits.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from handoff.errors import TooManyRequests
from handoff.rate_limits import RateLimiter
from tests.handoff.conftest import AGENTS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_the_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(6, "messages", clock=clock)  # 6 a minute: one every 10 s
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("a")
    assert refused.value.retry_after == 10 and "at most 6 a minute" in refused.value.message
    limiter.check("b")  # another key has its own bucket
    clock.now += 9.5
    with pytest.raises(TooManyRequests) as again:
        limiter.check("a")
    assert again.value.retry_after == 1
    clock.now += 0.5
    limiter.check("a")  # one token back after 10 s
    clock.now += 3600
    for _ in range(6):  # a full bucket after a long pause, never more than the limit
        limiter.check("a")
    with pytest.raises(TooManyRequests):
        limiter.check("a")


def test_the_limiter_forgets_idle_keys_and_keeps_its_size_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(60, "requests", clock=clock, max_keys=100)
    for i in range(1000):
        limiter.check(f"key-{i}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 100
    assert "key-999" in limiter._buckets and "key-0" not in limiter._buckets  # the stalest went first


async def test_a_sender_over_its_rate_gets_429_and_the_message_is_not_stored(
    start_hub: Any, make_settings: Any, fake_rasa: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_CUSTOMER_RATE="3"))
    sender = str(uuid.uuid4())
    for i in range(3):
        await hub.say(sender, f"message {i}")
    response = await hub.post_message(sender, "one too many")  # signed in as C-1001, as the three before
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 20
    assert "at most 3 a minute" in response.json()["error"]
    conversation = await hub.repository.conversation_by_sender(sender)
    texts = [m.text for m in await hub.repository.messages(conversation.id) if m.role == "customer"]
    assert texts == ["message 0", "message 1", "message 2"]
    assert fake_rasa.messages() == texts
    await hub.say(str(uuid.uuid4()), "another customer is not held up")


async def test_one_address_cannot_flood_the_customer_routes(start_hub: Any, make_settings: Any) -> None:
    hub = await start_hub(make_settings(CANDOR_ADDRESS_RATE="4"))
    sender = str(uuid.uuid4())
    await hub.say(sender, "hello")
    statuses = [(await hub.poll(sender)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # the message counted too


async def test_login_attempts_are_limited_even_with_the_right_password(start_hub: Any, make_settings: Any) -> None:
    hub = await start_hub(make_settings(CANDOR_LOGIN_RATE="2"))
    wrong = {"username": "ana", "password": "not her password"}
    assert (await hub.client.post("/api/agent/login", json=wrong)).status_code == 401
    assert (await hub.client.post("/api/agent/login", json=wrong)).status_code == 401
    right = await hub.client.post("/api/agent/login", json={"username": "ana", "password": AGENTS["ana"]})
    assert right.status_code == 429 and "login attempts" in right.json()["error"]
    assert "Retry-After" in right.headers


async def test_requests_without_the_customers_token_cannot_use_up_their_share(
    start_hub: Any, make_settings: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_CUSTOMER_RATE="2"))
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down", customer_id="C-1001")  # signed in: the conversation is theirs
    anonymous = {"sender": sender, "message": "let me in", "metadata": {}}
    statuses = [(await hub.client.post("/webhooks/rest/webhook", json=anonymous)).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # refused, then limited: on their own count
    await hub.say(sender, "still down", customer_id="C-1001")  # the customer's second of two: still allowed
