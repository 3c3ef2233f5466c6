"""The hub's exceptions and the HTTP status each one becomes.

Every error leaves the hub as JSON `{"error": "<what was wrong>"}` (contract 5 of DESIGN.md):

    HubError                    500  something the hub got wrong (the message is not shown to callers)
    ├── BadRequest              400  malformed JSON, missing or wrong-typed field, value out of range
    ├── Unauthorized            401  missing or wrong service token, agent token or agent credentials
    ├── Forbidden               403  a logged-in agent whose role does not allow this (supervisors only)
    ├── NotFound                404  unknown conversation, customer, incident or route
    ├── Conflict                409  the conversation is not in a state that allows this (e.g. already claimed)
    ├── TooManyRequests         429  over a rate limit (handoff/rate_limits.py); Retry-After says when to retry
    └── RasaUnavailable         502  Rasa failed or timed out; the chat routes catch it and queue the
                                     conversation instead, so customers never see this status

Errors raised by Sanic itself (413 body too large, 405 method not allowed, 404 no such route) are
turned into the same JSON shape by the app's error handler.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "HubError",
    "NotFound",
    "RasaUnavailable",
    "TooManyRequests",
    "Unauthorized",
]


class HubError(Exception):
    """Base of the hub's errors."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HubError):
    status = 400


class Unauthorized(HubError):
    status = 401


class Forbidden(HubError):
    status = 403


class NotFound(HubError):
    status = 404


class Conflict(HubError):
    status = 409


class TooManyRequests(HubError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RasaUnavailable(HubError):
    status = 502
