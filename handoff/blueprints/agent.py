"""Agent console routes (/api/agent/...): login, queue, claim, talk, hand back, resolve, directory,
compensation decisions."""

from __future__ import annotations

from datetime import timedelta

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff import compensations, flows, models, review_flows, supervision
from handoff.auth import new_token, token_hash
from handoff.errors import BadRequest, Forbidden, NotFound
from handoff.http import body_of, hub_of, logged_in, query_int, query_wait, signed_in
from handoff.schemas import (
    Agent,
    AgentMessageBody,
    CompensationOverrideBody,
    FollowUpDoneBody,
    HandbackBody,
    IncidentBody,
    IncidentUpdateBody,
    PresenceBody,
    ResolveBody,
    ReviewFlagBody,
    TransferBody,
)

__all__ = ["SESSION_TTL", "bp"]

SESSION_TTL = timedelta(hours=12)
AUDIT_PAGE, AUDIT_PAGE_MAX = 100, 500
PUBLIC = {"/api/agent/login"}

bp = Blueprint("agent", url_prefix="/api/agent")


@bp.on_request
async def require_agent(request: Request) -> None:
    if request.path in PUBLIC:
        return
    agent = await signed_in(request, "agent")
    if agent.role == "trainer":
        raise Forbidden("a trainer's token: the agent console is for agents (trainers use /api/trainer)")
    request.ctx.agent = agent


def _agent(request: Request) -> Agent:
    agent: Agent = request.ctx.agent
    return agent


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    agent = await logged_in(request, "agent")
    hub = hub_of(request)
    if agent.role == "trainer":
        await hub.repository.audit(f"agent:{agent.username}", "login_failed", reason="trainer")
        raise Forbidden("a trainer account: log in at /api/trainer/login (the review page, /review)")
    token = new_token()
    await hub.repository.start_session(agent, token_hash(token), SESSION_TTL)  # and presence online
    await flows.route(hub)
    return json({"token": token, "agent": agent.model_dump()})


@bp.get("/me")
async def me(request: Request) -> HTTPResponse:
    profile = await hub_of(request).repository.agent_profile(_agent(request))
    return json(profile.model_dump(mode="json"))


@bp.put("/me/presence")
async def presence(request: Request) -> HTTPResponse:
    body = body_of(request, PresenceBody)
    hub = hub_of(request)
    profile = await hub.repository.set_presence(_agent(request), body.presence)
    if body.presence == "online":
        await flows.route(hub)
    return json(profile.model_dump(mode="json"))


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    await hub_of(request).repository.end_session(request.ctx.token_hash, _agent(request))
    return json({"status": "logged out"})


@bp.get("/queue")
async def queue(request: Request) -> HTTPResponse:
    queued, mine = await hub_of(request).repository.queue_items(_agent(request))
    return json({"queued": [q.as_json() for q in queued], "mine": [m.as_json() for m in mine]})


@bp.post("/conversations/<conversation_id:int>/claim")
async def claim(request: Request, conversation_id: int) -> HTTPResponse:
    return json(await flows.claim(hub_of(request), conversation_id, _agent(request)))


@bp.get("/conversations/<conversation_id:int>")
async def packet(request: Request, conversation_id: int) -> HTTPResponse:
    return json(await flows.handoff_packet(hub_of(request), conversation_id))


@bp.get("/conversations/<conversation_id:int>/messages")
async def messages(request: Request, conversation_id: int) -> HTTPResponse:
    after, wait = query_int(request, "after"), query_wait(request)
    hub = hub_of(request)
    await hub.repository.conversation(conversation_id)  # NotFound before waiting
    found = await flows.new_messages(hub, conversation_id, after, wait)
    conversation = await hub.repository.conversation(conversation_id)
    return json({"state": conversation.state, "messages": [m.model_dump(mode="json") for m in found]})


@bp.post("/conversations/<conversation_id:int>/messages")
async def send(request: Request, conversation_id: int) -> HTTPResponse:
    body = body_of(request, AgentMessageBody)
    message = await hub_of(request).repository.add_agent_message(conversation_id, _agent(request), body.text)
    return json(message.model_dump(mode="json"), status=201)


@bp.post("/conversations/<conversation_id:int>/messages/<message_id:int>/flag")
async def flag(request: Request, conversation_id: int, message_id: int) -> HTTPResponse:
    """ "The bot should have handled this": the customer message goes to the trainers' review inbox."""
    body = body_of(request, ReviewFlagBody, optional=True)
    item = await review_flows.flag(hub_of(request), conversation_id, message_id, _agent(request), body.note)
    return json({"review_item": item.model_dump(mode="json")}, status=201)


@bp.post("/conversations/<conversation_id:int>/transfer")
async def transfer(request: Request, conversation_id: int) -> HTTPResponse:
    body = body_of(request, TransferBody)
    return json(await flows.transfer(hub_of(request), conversation_id, _agent(request), body))


@bp.post("/conversations/<conversation_id:int>/handback")
async def handback(request: Request, conversation_id: int) -> HTTPResponse:
    body = body_of(request, HandbackBody, optional=True)
    return json(await flows.handback(hub_of(request), conversation_id, _agent(request), body.note))


@bp.post("/conversations/<conversation_id:int>/resolve")
async def resolve(request: Request, conversation_id: int) -> HTTPResponse:
    body = body_of(request, ResolveBody, optional=True)
    return json(await flows.resolve(hub_of(request), conversation_id, _agent(request), body.reason))


@bp.get("/audit")
async def audit(request: Request) -> HTTPResponse:
    """Supervisors: the audit trail, oldest first, after ?after=<id>, of one ?conversation_id= or all."""
    if _agent(request).role != "supervisor":
        raise Forbidden("the audit trail is for supervisors")
    conversation_id = query_int(request, "conversation_id", default=-1)
    limit = query_int(request, "limit", default=AUDIT_PAGE)
    if not 1 <= limit <= AUDIT_PAGE_MAX:
        raise BadRequest(f"query parameter limit must be between 1 and {AUDIT_PAGE_MAX}")
    entries = await hub_of(request).repository.audit_entries(
        conversation_id if conversation_id >= 0 else None, query_int(request, "after"), limit
    )
    return json({"entries": entries})


@bp.get("/wait-alerts")
async def wait_alerts(request: Request) -> HTTPResponse:
    """Supervisors: the conversations still waiting whose wait raised an alert (handoff/sweeper.py)."""
    if _agent(request).role != "supervisor":
        raise Forbidden("waiting alerts are for supervisors")
    return json({"alerts": await hub_of(request).repository.wait_alerts(models.utcnow())})


@bp.get("/directory")
async def directory(request: Request) -> HTTPResponse:
    """Whom a conversation can be transferred to: every agent with their team, presence and load, and the teams."""
    repository = hub_of(request).repository
    agents = [p.model_dump(mode="json") for p in await repository.agent_profiles()]
    return json({"agents": agents, "teams": [t.model_dump(mode="json") for t in await repository.teams()]})


@bp.get("/overview")
async def overview(request: Request) -> HTTPResponse:
    """Supervisors: live counts, the frustration trend and the open incident's apology sameness."""
    if _agent(request).role != "supervisor":
        raise Forbidden("the overview is for supervisors")
    return json(await supervision.overview(hub_of(request)))


@bp.get("/follow-ups")
async def follow_ups(request: Request) -> HTTPResponse:
    state = request.args.get("state", "open")
    if state not in ("open", "done"):
        raise BadRequest(f"query parameter state must be open or done, got {state!r}")
    found = await hub_of(request).repository.follow_ups(state)
    return json({"follow_ups": [f.model_dump(mode="json") for f in found]})


@bp.post("/follow-ups/<follow_up_id:int>/done")
async def follow_up_done(request: Request, follow_up_id: int) -> HTTPResponse:
    body = body_of(request, FollowUpDoneBody)
    done = await hub_of(request).repository.finish_follow_up(follow_up_id, _agent(request), body.note)
    return json({"follow_up": done.model_dump(mode="json")})


@bp.get("/customers/<customer_id:str>")
async def customer(request: Request, customer_id: str) -> HTTPResponse:
    found = await hub_of(request).repository.customer(customer_id)
    if found is None:
        raise NotFound(f"no customer {customer_id}")
    return json(found.model_dump(mode="json"))


@bp.get("/incidents")
async def incidents(request: Request) -> HTTPResponse:
    found = await hub_of(request).repository.incidents()
    return json({"incidents": [i.model_dump(mode="json") for i in found]})


@bp.post("/incidents")
async def open_incident(request: Request) -> HTTPResponse:
    body = body_of(request, IncidentBody)
    incident = await hub_of(request).repository.open_incident(body, f"agent:{_agent(request).username}")
    return json({"incident": incident.model_dump(mode="json")}, status=201)


@bp.patch("/incidents/<incident_id:str>")
async def update_incident(request: Request, incident_id: str) -> HTTPResponse:
    body = body_of(request, IncidentUpdateBody)
    incident = await hub_of(request).repository.update_incident(incident_id, body, f"agent:{_agent(request).username}")
    return json({"incident": incident.model_dump(mode="json")})


@bp.get("/compensations")
async def list_compensations(request: Request) -> HTTPResponse:
    status = compensations.status_filter(request.args.get("status"))
    found = await hub_of(request).repository.compensations(status)
    return json({"compensations": [c.model_dump(mode="json") for c in found]})


@bp.post("/compensations/<compensation_id:int>/approve")
async def approve_compensation(request: Request, compensation_id: int) -> HTTPResponse:
    record = await hub_of(request).repository.approve_compensation(compensation_id, _agent(request))
    return json({"compensation": record.model_dump(mode="json")})


@bp.post("/compensations/<compensation_id:int>/override")
async def override_compensation(request: Request, compensation_id: int) -> HTTPResponse:
    body = body_of(request, CompensationOverrideBody)
    record = await hub_of(request).repository.override_compensation(compensation_id, _agent(request), body)
    return json({"compensation": record.model_dump(mode="json")})
