"""Customer routes: Rasa's REST channel protocol (contract 3) and the widget's message poll."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff import flows
from handoff.http import bearer_token, body_of, client_address, hub_of, query_int, query_wait
from handoff.schemas import WebhookBody

__all__ = ["bp"]

bp = Blueprint("customer")


@bp.get("/webhooks/rest/")
async def rest_channel_health(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


@bp.post("/webhooks/rest/webhook")
async def webhook(request: Request) -> HTTPResponse:
    hub = hub_of(request)
    hub.limits.address.check(client_address(request))
    body = body_of(request, WebhookBody)
    return json(await flows.customer_message(hub, body, hub.admit(body)))


@bp.get("/api/chat/<sender:str>/messages")
async def chat_messages(request: Request, sender: str) -> HTTPResponse:
    hub = hub_of(request)
    hub.limits.address.check(client_address(request))
    after, wait = query_int(request, "after"), query_wait(request)
    return json(await flows.chat_messages(hub, sender, after, bearer_token(request), wait))
