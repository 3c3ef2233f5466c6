"""Monitoring routes (/api/alerts/...): Prometheus Alertmanager's webhook opens, updates and resolves incidents.

Alertmanager authenticates with a bearer token (its `http_config.authorization`): CANDOR_ALERTMANAGER_TOKEN
when set (then the service token is refused here), else the service token.
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
    settings = request.app.ctx.settings
    if not service_token_ok(bearer_token(request), settings.monitoring_token):
        which = "CANDOR_ALERTMANAGER_TOKEN" if settings.alertmanager_token else "the hub's service token"
        raise Unauthorized(f"missing or wrong bearer token ({which})")


@bp.post("/alertmanager")
async def alertmanager(request: Request) -> HTTPResponse:
    payload = body_of(request, AlertmanagerPayload)
    incident, changed = await hub_of(request).repository.apply_alertmanager(payload)
    return json({"incident": incident.model_dump(mode="json") if incident else None, "changed": changed})
