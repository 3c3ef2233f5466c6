"""After an agent hands a conversation back: the bot's next answer about the problem says where the person left
it, once. The hub sets the slots handback_agent and handback_note at the handback (handoff/flows.py)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

__all__ = ["picking_up", "with_picking_up"]


def picking_up(tracker: Tracker) -> tuple[str, list[EventType]]:
    """The sentence to put before the answer, and the events that mark it said ("" and none when there is none)."""
    agent = tracker.get_slot("handback_agent")
    if not agent:
        return "", []
    note = " ".join((tracker.get_slot("handback_note") or "").split())
    said = [SlotSet("handback_agent", None), SlotSet("handback_note", None)]
    if not note:
        return f"Picking up where {agent} left it.", said
    if note[-1] not in ".!?":
        note += "."
    return f"Picking up where {agent} left it. {agent}'s note: {note}", said


def with_picking_up(text: str, tracker: Tracker) -> tuple[str, list[EventType]]:
    """`text` after the picking-up sentence, if one is due."""
    line, events = picking_up(tracker)
    return (f"{line} {text}" if line else text), events
