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
    # Counted per sender and proven customer: requests without the customer's token (refused anyway) cannot use up
    # the signed-in customer's share.
    claim = hub.claim(body.metadata.get("customer_token"), body.metadata.get("customer_id"))
    hub.limits.sender.check(f"{body.sender}|{claim.customer_id if claim.verified else ''}")
    return json(await flows.customer_message(hub, body, claim))


@bp.get("/api/chat/<sender:str>/messages")
async def chat_messages(request: Request, sender: str) -> HTTPResponse:
    hub = hub_of(request)
    hub.limits.address.check(client_address(request))
    after, wait = query_int(request, "after"), query_wait(request)
    return json(await flows.chat_messages(hub, sender, after, bearer_token(request), wait))
