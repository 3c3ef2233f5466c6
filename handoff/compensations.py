"""The compensation lifecycle as plain rules (docs/hub-api.md, "Compensations"): which decision may move an
offer from one status to another, that a customer answers the amount they were shown, and the floor and
limit an agent's override must keep.

No I/O here: the repository calls these with the row it has locked, and writes what they allow.
"""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

from handoff.errors import BadRequest, Conflict
from handoff.schemas import CompensationAnswer, CompensationStatus

__all__ = [
    "ANSWER_FROM",
    "APPROVE_FROM",
    "AWAITING",
    "OVERRIDE_FROM",
    "STATUSES",
    "check_answer",
    "check_approve",
    "check_override",
    "status_filter",
]

STATUSES: tuple[str, ...] = get_args(CompensationStatus)

# The statuses each decision may be taken from (the table in docs/hub-api.md, "Compensations").
ANSWER_FROM: dict[str, frozenset[str]] = {
    "accepted": frozenset({"offered", "approved"}),  # → accepted (the customer's)
    "declined": frozenset({"offered", "approved", "pending_approval"}),  # → declined (the customer's)
}
APPROVE_FROM = frozenset({"pending_approval"})  # → approved (an agent's)
OVERRIDE_FROM = frozenset({"offered", "pending_approval", "approved", "declined"})  # → approved, new amount
# The statuses of an offer that still awaits a decision (the customer's or an agent's): the bot brings such
# an offer up again even after its incident is resolved (docs/hub-api.md, "Bot side").
AWAITING = ("offered", "pending_approval", "approved")


def check_answer(
    compensation_id: int,
    status: str,
    answer: CompensationAnswer,
    amount: Decimal,
    currency: str,
    shown: Decimal | None = None,
) -> bool:
    """True if the customer's answer changes the offer, False if it is the answer already recorded;
    Conflict if the offer's status does not take that answer, or if the customer was shown an amount
    (`shown`, when the bot sends it) other than the offer's current `amount` (an agent changed it since)."""
    if status != answer and status not in ANSWER_FROM[answer]:
        if status == "pending_approval":
            raise Conflict(
                f"compensation {compensation_id} awaits an agent's approval: it cannot be accepted until it is approved"
            )
        raise Conflict(f"compensation {compensation_id} is {status} already: it cannot be {answer} now")
    if shown is not None and shown != amount:
        raise Conflict(
            f"compensation {compensation_id} is now {amount} {currency}, not {shown} {currency}: "
            "show the customer the new amount first"
        )
    return status != answer


def check_approve(compensation_id: int, status: str) -> bool:
    """True if an agent's approval changes the offer, False if it is approved already; Conflict otherwise."""
    if status == "approved":
        return False
    if status in APPROVE_FROM:
        return True
    raise Conflict(
        f"compensation {compensation_id} is {status}: only an offer pending approval can be approved "
        "(an override sets another amount)"
    )


def check_override(
    compensation_id: int, status: str, amount: Decimal, floor: Decimal, limit: Decimal, currency: str
) -> None:
    """Conflict once the customer accepted; BadRequest for an amount below what the policy gave (`floor`, the
    offer's original_amount: an override may only raise it) or above the offer's limit for agents."""
    if status not in OVERRIDE_FROM:
        raise Conflict(
            f"compensation {compensation_id} is {status}: it is already on the customer's bill and cannot be changed"
        )
    if amount < floor:
        raise BadRequest(
            f"amount {amount} {currency} is below the policy's amount for compensation {compensation_id}: "
            f"the policy gives this customer at least {floor} {currency}; an override may raise it up to "
            f"{limit} {currency}, not lower it"
        )
    if amount > limit:
        raise BadRequest(
            f"amount {amount} {currency} is above the most an agent may set for compensation {compensation_id}: "
            f"{limit} {currency}"
        )


def status_filter(value: str | None) -> str | None:
    """A `status` query value: None for none given; BadRequest for one that is not a status."""
    if value is None or value == "":
        return None
    if value not in STATUSES:
        raise BadRequest(f"query parameter status must be one of {', '.join(STATUSES)}; got {value!r}")
    return value
