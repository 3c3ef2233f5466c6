"""The OpenAPI 3.0 description of the hub (GET /openapi.json), kept next to the routes it lists.

A test checks that every route the app serves is listed here, and nothing else.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from pydantic import BaseModel

from handoff.alertmanager import AlertmanagerPayload
from handoff.schemas import (
    AgentLogin,
    AgentMessageBody,
    CompensationAnswerBody,
    CompensationBody,
    CompensationOverrideBody,
    EscalationBody,
    FollowUpDoneBody,
    HandbackBody,
    IncidentBody,
    IncidentUpdateBody,
    PresenceBody,
    ResolveBody,
    TransferBody,
    WebhookBody,
)

__all__ = ["ROUTES", "Route", "document"]


class Route(NamedTuple):
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    auth: str | None = None  # "service" | "agent" | "bearer-service" (the service token as a bearer token)


ROUTES = [
    Route("GET", "/health", 'Readiness: {"status": "ok"}, or 503 while starting'),
    Route("GET", "/openapi.json", "This description"),
    Route("GET", "/", "Chat widget (HTML)"),
    Route("GET", "/console", "Agent console (HTML)"),
    Route("GET", "/socket.io/", "Rasa's socket.io channel (engine.io transport: docs/hub-api.md, socket.io channel)"),
    Route("POST", "/socket.io/", "Rasa's socket.io channel (engine.io transport: docs/hub-api.md, socket.io channel)"),
    Route("GET", "/webhooks/rest/", "Rasa REST channel health"),
    Route(
        "POST",
        "/webhooks/rest/webhook",
        "A customer's message; answers the messages for them (Rasa REST protocol). Optional metadata: "
        "customer_token (signed customer identity), message_id (a retry with it is answered once)",
        WebhookBody,
    ),
    Route(
        "GET",
        "/api/chat/{sender}/messages",
        "Bot, agent and system messages after ?after=<id>, state and queue place; ?wait=<0-30 s> long-polls",
    ),
    Route(
        "GET",
        "/api/bot/conversations/{sender}/context",
        "Customer, matching open incident, and the offer for it, else the latest offer still awaiting a decision",
        auth="service",
    ),
    Route(
        "POST",
        "/api/bot/conversations/{sender}/escalate",
        "Queue the conversation for a person",
        EscalationBody,
        "service",
    ),
    Route(
        "POST",
        "/api/bot/compensations",
        "Record a compensation offer (once per customer and incident): 201 new, 200 the one recorded",
        CompensationBody,
        "service",
    ),
    Route(
        "POST",
        "/api/bot/compensations/{compensation_id}/answer",
        "The customer accepts or declines an offer (only from a conversation of its customer; "
        "409 if `amount` is given and the offer's amount changed)",
        CompensationAnswerBody,
        "service",
    ),
    Route(
        "POST",
        "/api/alerts/alertmanager",
        "Prometheus Alertmanager webhook (version 4): opens, updates and resolves the group's incident",
        AlertmanagerPayload,
        "bearer-service",
    ),
    Route("POST", "/api/agent/login", "Agent login; answers a bearer token", AgentLogin),
    Route("POST", "/api/agent/logout", "End this agent session", auth="agent"),
    Route("GET", "/api/agent/queue", "Conversations waiting, and this agent's", auth="agent"),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/claim",
        "Take a queued conversation (one agent wins)",
        auth="agent",
    ),
    Route(
        "GET",
        "/api/agent/conversations/{conversation_id}",
        "The handoff packet: context, escalation, transcript",
        auth="agent",
    ),
    Route(
        "GET",
        "/api/agent/conversations/{conversation_id}/messages",
        "Messages after ?after=<id>; ?wait=<0-30 s> long-polls",
        auth="agent",
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/messages",
        "Send a message to the customer",
        AgentMessageBody,
        "agent",
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/transfer",
        "Pass the conversation to another available agent (to_agent) or back to the queue for a team (to_team), "
        "with a note; 409 naming why the agent cannot take it",
        TransferBody,
        "agent",
    ),
    Route(
        "GET",
        "/api/agent/me",
        "The logged-in agent: role, team, skills, capacity, presence, open conversations",
        auth="agent",
    ),
    Route("PUT", "/api/agent/me/presence", "Set presence: online, away or offline", PresenceBody, "agent"),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/handback",
        "Give the conversation back to the bot",
        HandbackBody,
        "agent",
    ),
    Route("POST", "/api/agent/conversations/{conversation_id}/resolve", "Close the conversation", ResolveBody, "agent"),
    Route(
        "GET",
        "/api/agent/audit",
        "Supervisors (403 otherwise): audit entries after ?after=<id>, of ?conversation_id=, at most ?limit= (100, "
        "up to 500): who did what and when",
        auth="agent",
    ),
    Route(
        "GET",
        "/api/agent/wait-alerts",
        "Supervisors (403 otherwise): conversations still waiting whose wait passed CANDOR_WAIT_ALERT_SECONDS",
        auth="agent",
    ),
    Route(
        "GET",
        "/api/agent/follow-ups",
        "Messages waiting customers left with an email address (?state=open, the default, or done)",
        auth="agent",
    ),
    Route(
        "POST",
        "/api/agent/follow-ups/{follow_up_id}/done",
        "Mark a follow-up done, with how the customer was answered (409 if done already)",
        FollowUpDoneBody,
        "agent",
    ),
    Route("GET", "/api/agent/customers/{customer_id}", "A customer of the directory", auth="agent"),
    Route("GET", "/api/agent/incidents", "All incidents", auth="agent"),
    Route("POST", "/api/agent/incidents", "Open an incident (answers 201 with it)", IncidentBody, "agent"),
    Route(
        "PATCH",
        "/api/agent/incidents/{incident_id}",
        "Change an incident: title, severity, services, regions, status (resolved resolves), facts",
        IncidentUpdateBody,
        "agent",
    ),
    Route(
        "GET",
        "/api/agent/compensations",
        "Compensation records, newest first; ?status=<status> keeps one status (e.g. pending_approval)",
        auth="agent",
    ),
    Route(
        "POST",
        "/api/agent/compensations/{compensation_id}/approve",
        "Approve an offer pending approval",
        auth="agent",
    ),
    Route(
        "POST",
        "/api/agent/compensations/{compensation_id}/override",
        "Set another amount (from the offer's original_amount up to its agent_max_amount, with a reason); "
        "the offer becomes approved",
        CompensationOverrideBody,
        "agent",
    ),
]

_ERROR = {
    "description": "Error",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
        }
    },
}


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "responses": {"200": {"description": "OK"}, "4XX": _ERROR},
        }
        parameters = [
            {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
            for part in route.path.split("/")
            if part.startswith("{")
        ]
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            schema = route.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[route.body.__name__] = schema
            operation["requestBody"] = {
                "required": route.body not in (HandbackBody, ResolveBody),
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}}},
            }
        if route.auth == "service":
            operation["security"] = [{"serviceToken": []}]
        elif route.auth == "agent":
            operation["security"] = [{"agentToken": []}]
        elif route.auth == "bearer-service":
            operation["security"] = [{"serviceBearer": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Candor handoff hub", "version": "0.1.0", "description": "See docs/hub-api.md."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "serviceToken": {"type": "apiKey", "in": "header", "name": "X-Candor-Service-Token"},
                "serviceBearer": {"type": "http", "scheme": "bearer", "description": "the service token"},
                "agentToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
