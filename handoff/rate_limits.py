"""Rate limits: a token bucket per key (a sender, a client address), kept in this process.

Each bucket holds up to `per_minute` requests and refills at `per_minute` a minute, so a client may
burst up to its limit and then goes on at the steady rate. Over the limit a request is refused with
429 and Retry-After before it changes anything. The buckets live in the hub process: several hubs
behind a balancer each count their own share (DESIGN.md: Redis is the place for shared counters).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from handoff.errors import TooManyRequests

__all__ = ["Limits", "RateLimiter"]


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`check(key)` spends one request of `key`'s bucket or raises TooManyRequests."""

    def __init__(
        self, per_minute: int, what: str, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.what = what
        self._rate = per_minute / 60.0  # tokens a second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str) -> None:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.per_minute), at=now)
        else:
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
        raise TooManyRequests(
            f"too many {self.what}: at most {self.per_minute} a minute; try again in {retry_after} s", retry_after
        )

    def _make_room(self, now: float) -> None:
        """Forget buckets that have refilled (they hold no information); if still full, the stalest."""
        if len(self._buckets) < self._max_keys:
            return
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self._rate >= self.per_minute]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) >= self._max_keys:
            del self._buckets[min(self._buckets, key=lambda k: self._buckets[k].at)]


@dataclass(frozen=True)
class Limits:
    """The hub's rate limits (handoff/README.md lists the settings)."""

    sender: RateLimiter  # customer messages, per sender
    address: RateLimiter  # customer routes (messages and polls), per client address
    login: RateLimiter  # agent login attempts, per client address

    @classmethod
    def of(cls, customer_rate: int, address_rate: int, login_rate: int) -> Limits:
        return cls(
            sender=RateLimiter(customer_rate, "messages from this sender"),
            address=RateLimiter(address_rate, "chat requests from this address"),
            login=RateLimiter(login_rate, "login attempts from this address"),
        )
