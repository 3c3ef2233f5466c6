"""Monitoring routes (/api/alerts/...): Prometheus Alertmanager's webhook opens, updates and resolves incidents.

Alertmanager authenticates with the service token as a bearer token (its `http_config.authorization`).
Every valid delivery answers 200, whether it changed anything or not; a malformed one answers 400, which
Alertmanager does not retry (docs/hub-api.md, "Alerts").
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.alertmanager import AlertmanagerPayload
from handoff.auth import service_token_ok
from handoff.errors import Unauthorized
from handoff.http import bearer_token, body_of, hub_of

__all__ = ["bp"]

bp = Blueprint("alerts", url_prefix="/api/alerts")


@bp.on_request
async def require_service_token(request: Request) -> None:
    if not service_token_ok(bearer_token(request), request.app.ctx.settings.service_token):
        raise Unauthorized("missing or wrong bearer token (the hub's service token)")


@bp.post("/alertmanager")
async def alertmanager(request: Request) -> HTTPResponse:
    payload = body_of(request, AlertmanagerPayload)
    incident, changed = await hub_of(request).repository.apply_alertmanager(payload)
    return json({"incident": incident.model_dump(mode="json") if incident else None, "changed": changed})
