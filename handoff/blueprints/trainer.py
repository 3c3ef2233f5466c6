"""Trainer routes (/api/trainer/...): log in, read the review inbox, label or discard its items; accept or reject
response candidates (agents' replies that worked).

Trainers are a role of their own: their accounts cannot use the agent console's routes, and agents cannot use
these. Exporting the labelled items into data/, and accepted responses into the domain, is a command on the
machine that holds the bot's files (`python -m handoff.cli review-export`, docs/trainers.md)."""

from __future__ import annotations

from typing import get_args

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff import nlu_export, response_candidates, response_flows, review
from handoff.auth import new_token, token_hash
from handoff.blueprints.agent import SESSION_TTL
from handoff.errors import BadRequest, Forbidden
from handoff.http import body_of, hub_of, logged_in, query_int, signed_in
from handoff.schemas import Agent, FrustrationLevel, ResponseAcceptBody, ReviewLabelBody
from handoff.store_part import PAGE_MAX

__all__ = ["bp"]

PUBLIC = {"/api/trainer/login"}
PAGE = 50

bp = Blueprint("trainer", url_prefix="/api/trainer")


@bp.on_request
async def require_trainer(request: Request) -> None:
    if request.path in PUBLIC:
        return
    trainer = await signed_in(request, "trainer")
    if trainer.role != "trainer":
        raise Forbidden("the review inbox is for trainers")
    request.ctx.trainer = trainer


def _actor(request: Request) -> str:
    trainer: Agent = request.ctx.trainer
    return f"trainer:{trainer.username}"


def _page(request: Request, states: tuple[str, ...], default: str) -> tuple[str | None, int, int]:
    """A list route's ?state= (one of `states`, or `all`: None), ?after=<id> and ?limit=."""
    state = request.args.get("state", default)
    if state not in (*states, "all"):
        raise BadRequest(f"query parameter state must be one of {', '.join(states)} or all, got {state!r}")
    limit = query_int(request, "limit", default=PAGE)
    if not 1 <= limit <= PAGE_MAX:
        raise BadRequest(f"query parameter limit must be between 1 and {PAGE_MAX}")
    return None if state == "all" else state, query_int(request, "after"), limit


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    trainer = await logged_in(request, "trainer")
    repo = hub_of(request).repository
    if trainer.role != "trainer":
        await repo.audit(f"agent:{trainer.username}", "login_failed", reason="not a trainer")
        raise Forbidden("not a trainer account: agents log in to the console (/console)")
    token = new_token()
    await repo.start_session(trainer, token_hash(token), SESSION_TTL, online=False)  # trainers take no chats
    return json({"token": token, "trainer": trainer.model_dump()})


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    await hub_of(request).repository.end_session(request.ctx.token_hash, request.ctx.trainer)
    return json({"status": "logged out"})


@bp.get("/me")
async def me(request: Request) -> HTTPResponse:
    return json({"trainer": request.ctx.trainer.model_dump()})


@bp.get("/intents")
async def intents(request: Request) -> HTTPResponse:
    """What a label may name: the bot's intents and entities (its domain file), and the frustration levels; and
    the responses an accepted candidate may join."""
    names = nlu_export.domain_names(hub_of(request).settings.domain_file)
    levels = list(get_args(FrustrationLevel))
    return json(
        {
            "intents": sorted(names.intents),
            "entities": sorted(names.entities),
            "frustration_levels": levels,
            "responses": sorted(names.responses),
        }
    )


@bp.get("/review")
async def inbox(request: Request) -> HTTPResponse:
    """Items oldest first, after ?after=<id>, in ?state= (default open; `all` for every state)."""
    items, open_count = await hub_of(request).repository.review_items(*_page(request, review.STATES, "open"))
    return json({"items": [i.model_dump(mode="json") for i in items], "open": open_count})


@bp.get("/review/<item_id:int>")
async def item(request: Request, item_id: int) -> HTTPResponse:
    return json({"item": (await hub_of(request).repository.review_item(item_id)).model_dump(mode="json")})


@bp.post("/review/<item_id:int>/label")
async def label(request: Request, item_id: int) -> HTTPResponse:
    body = body_of(request, ReviewLabelBody)
    hub = hub_of(request)
    nlu_export.check_label(body, hub.settings.domain_file)
    labelled = await hub.repository.label_review_item(item_id, body, _actor(request))
    return json({"item": labelled.model_dump(mode="json")})


@bp.post("/review/<item_id:int>/discard")
async def discard(request: Request, item_id: int) -> HTTPResponse:
    discarded = await hub_of(request).repository.discard_review_item(item_id, _actor(request))
    return json({"item": discarded.model_dump(mode="json")})


@bp.get("/responses")
async def candidates(request: Request) -> HTTPResponse:
    """Response candidates oldest first, after ?after=<id>, in ?state= (default proposed; `all` for every state)."""
    page = _page(request, response_candidates.STATES, "proposed")
    found, proposed = await hub_of(request).repository.response_candidates(*page)
    return json({"candidates": [c.model_dump(mode="json") for c in found], "proposed": proposed})


@bp.get("/responses/<candidate_id:int>")
async def candidate(request: Request, candidate_id: int) -> HTTPResponse:
    found = await hub_of(request).repository.response_candidate(candidate_id)
    return json({"candidate": found.model_dump(mode="json")})


@bp.post("/responses/<candidate_id:int>/accept")
async def accept(request: Request, candidate_id: int) -> HTTPResponse:
    body = body_of(request, ResponseAcceptBody)
    hub = hub_of(request)
    accepted = await response_flows.accept(
        hub.repository, candidate_id, body.response, body.text, hub.settings.domain_file, _actor(request)
    )
    return json({"candidate": accepted.model_dump(mode="json")})


@bp.post("/responses/<candidate_id:int>/reject")
async def reject(request: Request, candidate_id: int) -> HTTPResponse:
    rejected = await hub_of(request).repository.reject_response(candidate_id, _actor(request))
    return json({"candidate": rejected.model_dump(mode="json")})
