"""Signed customer identity: which directory customer a chat belongs to, vouched for by the site.

The customer's own website, where the customer is signed in, mints a short-lived HS256 JSON Web Token
with the customer id as `sub` and an `exp`, signed with the secret it shares with the hub
(CANDOR_CUSTOMER_TOKEN_SECRET). The chat client sends it as `metadata.customer_token`. Only a valid
token links a conversation to a customer; a bare `metadata.customer_id` is believed only when the hub
is told to (CANDOR_TRUST_CUSTOMER_ID=1, for demos on one machine). Any JWT library can mint one; so
can `python -m handoff.cli customer-token C-1001`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from handoff.errors import Unauthorized

__all__ = [
    "ALGORITHM",
    "ANONYMOUS",
    "LEEWAY_SECONDS",
    "MAX_LIFETIME",
    "SIGNED_IN_CUSTOMER_ONLY",
    "Claim",
    "claim_from",
    "mint",
    "verify",
]

ALGORITHM = "HS256"
SIGNED_IN_CUSTOMER_ONLY = (
    "this conversation belongs to a signed-in customer: send their token "
    "(metadata.customer_token, or Authorization: Bearer when reading messages)"
)
LEEWAY_SECONDS = 30  # clocks of the site and the hub may differ a little
MAX_LIFETIME = timedelta(days=1)  # a longer-lived token is refused: a leaked one must not live for ever


def mint(customer_id: str, secret: str, now: datetime, lifetime: timedelta = timedelta(hours=1)) -> str:
    """A token for `customer_id`, valid from `now` for `lifetime`."""
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(f"a customer token lives more than 0 and at most {MAX_LIFETIME}, not {lifetime}")
    claims = {"sub": customer_id, "iat": int(now.timestamp()), "exp": int((now + lifetime).timestamp())}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(token: object, secret: str, now: datetime) -> str:
    """The customer id the token vouches for; Unauthorized saying what is wrong with it."""
    if not isinstance(token, str) or not token:
        raise Unauthorized("metadata.customer_token must be a signed token (a JWT string)")
    try:
        claims: Mapping[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # never "none", never what the token's header asks for
            options={"require": ["sub", "exp"], "verify_exp": False, "verify_iat": False},  # checked below, at `now`
        )
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"metadata.customer_token is not valid: {error}") from None
    expires, issued = claims["exp"], claims.get("iat")
    if not isinstance(expires, int) or (issued is not None and not isinstance(issued, int)):
        raise Unauthorized("metadata.customer_token is not valid: exp and iat must be whole seconds")
    moment = now.timestamp()
    if issued is not None and issued > moment + LEEWAY_SECONDS:
        raise Unauthorized("metadata.customer_token is not valid yet (iat is in the future): check the site's clock")
    if moment > expires + LEEWAY_SECONDS:
        raise Unauthorized("metadata.customer_token has expired: the site must give the chat a new one")
    if expires - (issued if issued is not None else moment) > MAX_LIFETIME.total_seconds():
        raise Unauthorized(f"metadata.customer_token lives longer than the hub allows ({MAX_LIFETIME})")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("metadata.customer_token is not valid: sub must be the customer id")
    return subject


@dataclass(frozen=True)
class Claim:
    """Who a chat request says its customer is, and how far the hub believes it."""

    customer_id: str | None = None
    verified: bool = False  # from a valid token (or a bare id when the hub trusts those)
    required: bool = False  # the hub checks tokens: a linked conversation answers only its own customer's

    def may_use(self, linked_customer_id: str | None) -> bool:
        """May this request read or write a conversation linked to `linked_customer_id`?"""
        if linked_customer_id is None or not self.required:
            return True
        return self.verified and self.customer_id == linked_customer_id


ANONYMOUS = Claim()


def claim_from(
    token: object, customer_id: object, *, secret: str | None, trust_customer_id: bool, required: bool, now: datetime
) -> Claim:
    """The claim of a request carrying `token` (metadata.customer_token or a bearer token; None when
    absent) and `customer_id` (metadata.customer_id); `required`: the hub checks tokens
    (Settings.checks_customer_tokens). Unauthorized for a token that does not verify."""
    if token is not None:
        if secret is None:
            raise Unauthorized(
                "metadata.customer_token was sent, but this hub has no CANDOR_CUSTOMER_TOKEN_SECRET to check it"
            )
        return Claim(verify(token, secret, now), verified=True, required=required)
    if isinstance(customer_id, str) and customer_id:
        return Claim(customer_id, verified=trust_customer_id, required=required)
    return Claim(required=required)
