"""Wake-ups for long polls: a request waiting for new messages of a conversation is woken when one is stored.

The repository calls `changed` after every commit that stored messages (handoff/repository.py); a poll
with `wait` (GET /api/chat/{sender}/messages, GET /api/agent/conversations/{id}/messages) waits on
`watch`. It lives in the hub process: a message stored by another hub process on the same database is
seen at the poll's next look at the database, at most LOOK_AGAIN seconds later (DESIGN.md: Redis is the
place for fan-out between hub instances).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

__all__ = ["LOOK_AGAIN", "Updates", "wait_for_change"]

# Seconds a waiting poll trusts the wake-ups before it reads the database again (for messages another hub
# process stored). Every waiting poll reads that often: with 1 s, 200 waiting customers cost the hub 200 reads a
# second and held up everything else (make bench-hub: delivery p50 3 s); with 10 s, 20.
LOOK_AGAIN = 10.0


class Updates:
    """Conversation id → an event set when a message of it is stored, then replaced by a fresh one."""

    def __init__(self) -> None:
        self._events: dict[int, asyncio.Event] = {}

    def watch(self, conversation_id: int) -> asyncio.Event:
        """The event the next stored message of `conversation_id` sets. Take it before reading, so that a
        message stored between the read and the wait still wakes the waiter."""
        return self._events.setdefault(conversation_id, asyncio.Event())

    def changed(self, conversation_ids: Iterable[int]) -> None:
        for conversation_id in conversation_ids:
            event = self._events.pop(conversation_id, None)
            if event is not None:
                event.set()


async def wait_for_change(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` (at most LOOK_AGAIN) have passed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), min(seconds, LOOK_AGAIN))
