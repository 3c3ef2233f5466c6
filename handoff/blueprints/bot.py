"""Action-server routes (/api/bot/...), guarded by the shared service token."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff import flows
from handoff.auth import service_token_ok
from handoff.errors import Unauthorized
from handoff.http import body_of, hub_of
from handoff.schemas import ApologyBody, CompensationAnswerBody, CompensationBody, EscalationBody

__all__ = ["SERVICE_TOKEN_HEADER", "bp"]

SERVICE_TOKEN_HEADER = "X-Candor-Service-Token"  # noqa: S105 (a header name, not a secret)

bp = Blueprint("bot", url_prefix="/api/bot")


@bp.on_request
async def require_service_token(request: Request) -> None:
    if not service_token_ok(request.headers.get(SERVICE_TOKEN_HEADER), request.app.ctx.settings.service_token):
        raise Unauthorized(f"missing or wrong {SERVICE_TOKEN_HEADER} header")


@bp.get("/conversations/<sender:str>/context")
async def context(request: Request, sender: str) -> HTTPResponse:
    return json(await flows.bot_context(hub_of(request), sender))


@bp.post("/conversations/<sender:str>/escalate")
async def escalate(request: Request, sender: str) -> HTTPResponse:
    body = body_of(request, EscalationBody)
    return json(await flows.escalate(hub_of(request), sender, body))


@bp.post("/conversations/<sender:str>/apologies")
async def record_apology(request: Request, sender: str) -> HTTPResponse:
    body = body_of(request, ApologyBody)
    return json(await flows.record_apology(hub_of(request), sender, body), status=201)


@bp.post("/compensations")
async def record_compensation(request: Request) -> HTTPResponse:
    body = body_of(request, CompensationBody)
    record, created = await flows.record_compensation(hub_of(request), body)
    return json(record, status=201 if created else 200)


@bp.post("/compensations/<compensation_id:int>/answer")
async def answer_compensation(request: Request, compensation_id: int) -> HTTPResponse:
    body = body_of(request, CompensationAnswerBody)
    return json(await flows.answer_compensation(hub_of(request), compensation_id, body))
