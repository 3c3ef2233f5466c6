"""Helpers the route handlers share: typed request bodies, query values, the hub on app.ctx."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request

from handoff.auth import check_password_async, token_hash
from handoff.errors import BadRequest, NotFound, Unauthorized
from handoff.flows import Hub
from handoff.schemas import Agent, AgentLogin

__all__ = [
    "MAX_ID",
    "MAX_WAIT",
    "bearer_token",
    "body_of",
    "client_address",
    "describe",
    "hub_of",
    "logged_in",
    "query_int",
    "query_wait",
    "signed_in",
]

MAX_ID = 2**31 - 1  # PostgreSQL's ids end here: a larger one in a path names nothing

Model = TypeVar("Model", bound=BaseModel)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy says (Sanic's PROXIES_COUNT / REAL_IP_HEADER)."""
    return str(request.remote_addr or request.ip)


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.ctx.hub
    return hub


def describe(error: ValidationError) -> str:
    """A validation error in one line: each wrong field and what is wrong with it."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


def body_of(request: Request, model: type[Model], *, optional: bool = False) -> Model:
    """The JSON body as `model`; BadRequest saying which field is wrong. optional: no body means {}."""
    raw = request.body
    if not raw or not raw.strip():
        if optional:
            return model.model_validate({})
        raise BadRequest("the request needs a JSON body")
    try:
        data: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadRequest(describe(error)) from None


MAX_QUERY_INT = 2**63 - 1  # the largest id a database integer holds


def query_int(request: Request, name: str, default: int = 0) -> int:
    """A whole-number query parameter (digits only, 0 to MAX_QUERY_INT), or `default` when absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():  # int() would also take "+3", " 4" and "1_000"
        raise BadRequest(f"query parameter {name} must be a whole number >= 0, got {raw!r}")
    value = int(raw)
    if value > MAX_QUERY_INT:
        raise BadRequest(f"query parameter {name} must be at most {MAX_QUERY_INT}, got {raw!r}")
    return value


MAX_WAIT = 30  # seconds a long poll may wait (below the usual 60 s proxy and browser timeouts)


def query_wait(request: Request) -> float:
    """?wait=<seconds> of a long poll: a whole number from 0 (answer at once, the default) to MAX_WAIT."""
    value = query_int(request, "wait")
    if value > MAX_WAIT:
        raise BadRequest(f"query parameter wait must be at most {MAX_WAIT} (seconds), got {value}")
    return float(value)


async def signed_in(request: Request, who: str) -> Agent:
    """The staff account (agent, supervisor or trainer) whose session the request's bearer token is, with the token's
    hash on request.ctx.token_hash; Unauthorized without a live session. Path ids past MAX_ID are NotFound. `who`
    names the kind of token in the message ("agent", "trainer")."""
    token = bearer_token(request)
    account = await hub_of(request).repository.agent_for_token(token_hash(token)) if token else None
    if account is None or token is None:
        raise Unauthorized(f"log in first: missing, expired or unknown {who} token")
    request.ctx.token_hash = token_hash(token)
    for name, value in request.match_info.items():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(f"no {name.removesuffix('_id').replace('_', '-')} {value}")
    return account


async def logged_in(request: Request, who: str) -> Agent:
    """The account a login request's username and password name (rate-limited per address: bcrypt makes each guess
    slow, this makes guesses few); a wrong pair is audited as `<who>:<username>` and answers Unauthorized."""
    hub = hub_of(request)
    hub.limits.login.check(client_address(request))
    body = body_of(request, AgentLogin)
    found = await hub.repository.agent_credentials(body.username)
    if not await check_password_async(body.password, found[1] if found else None) or found is None:
        await hub.repository.audit(f"{who}:{body.username}", "login_failed")
        raise Unauthorized("wrong username or password")
    return found[0]
