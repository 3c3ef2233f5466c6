"""handoff/openapi.py: /openapi.json lists every route the app serves, and says truly what each one answers.

The answers are checked on a real hub (real HTTP and database, the fake Rasa): a story calls every documented
route with a request that succeeds, and every answer on the way, errors included, is validated against the schema
the served /openapi.json gives for its route and status ($refs resolved; JSON Schema 2020-12, as OpenAPI 3.1
uses). Two things are held tighter than the document states them, so that drift shows: an object may have no key
its schema does not name (the document leaves objects open, as clients should ignore unknown keys; a schema that
allows other keys says so), and a date-time is RFC 3339 in UTC (docs/hub-api.md, "Values").
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from test_alerts import FIRING, RESOLVED
from test_bot import OFFER

from handoff import models
from handoff.app import create_app
from handoff.openapi import INTEGER_PARAMETERS, OPENAPI_VERSION, ROUTES, document
from handoff.sweeper import sweep

SELF = "urn:candor-hub:openapi"  # where the validator finds the document the $refs point into


def closed(schema: Any) -> Any:
    """A copy of `schema` whose objects take no key they do not name, unless they say what other keys may be."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: closed(value) for key, value in schema.items()}
    if "properties" in copy and "additionalProperties" not in copy:
        copy["additionalProperties"] = False
    return copy


FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def utc_time(value: object) -> bool:
    """RFC 3339 (a `T`, an offset) and UTC, as the hub writes its times."""
    if not isinstance(value, str):
        return True  # the type keyword judges that
    return "T" in value and datetime.fromisoformat(value).utcoffset() == timedelta(0)


class Described:
    """Validates each answer of the hub against the document, and remembers which routes answered which status.

    Installed as an httpx response hook, it sees every request a test makes through `hub.client`, the conftest
    helpers' included. Mismatches are collected (`problems`), so that one run names all of them."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        held = {
            **document,
            "components": {**document["components"], "schemas": closed(document["components"]["schemas"])},
        }
        self.registry: Registry[Any] = Registry().with_resource(SELF, DRAFT202012.create_resource(held))
        self.templates = [
            (path, re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$"))
            for path in document["paths"]
        ]
        self.problems: list[str] = []
        self.seen: set[tuple[str, str, int]] = set()

    def resolve(self, item: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in item:
            found: Any = self.document
            for part in item["$ref"].removeprefix("#/").split("/"):
                found = found[part.replace("~1", "/").replace("~0", "~")]
            item = found
        return item

    def template(self, method: str, path: str) -> str | None:
        for template, pattern in self.templates:
            if pattern.match(path) and method.lower() in self.document["paths"][template]:
                return template
        return None

    def errors(self, schema: dict[str, Any], instance: Any) -> Iterator[str]:
        assert set(schema) == {"$ref"} and schema["$ref"].startswith("#/"), schema  # every JSON answer is a component
        validator = Draft202012Validator(
            {"$ref": SELF + schema["$ref"]}, registry=self.registry, format_checker=FORMATS
        )
        for error in validator.iter_errors(instance):
            yield f"{error.json_path}: {error.message}"

    async def check(self, response: httpx.Response) -> None:
        await response.aread()
        method, path, status = response.request.method, response.request.url.path, response.status_code
        template = self.template(method, path)
        if template is None:  # no such route (404) or method (405): the error shape all the same
            responses = {"4XX": {"$ref": "#/components/responses/Error"}}
            where = f"{method} {path} (no route) → {status}"
        else:
            responses = self.document["paths"][template][method.lower()]["responses"]
            where = f"{method} {template} → {status}"
            self.seen.add((method, template, status))
        described = responses.get(str(status)) or responses.get(f"{status // 100}XX")
        if described is None:
            self.problems.append(f"{where}: a status its description does not list ({sorted(responses)})")
            return
        media = response.headers.get("content-type", "").split(";")[0].strip()
        content = self.resolve(described).get("content", {})
        if media not in content:
            self.problems.append(f"{where}: answered {media or 'no content type'}, described {sorted(content)}")
        elif media == "application/json":
            self.problems.extend(f"{where}: {e}" for e in self.errors(content[media]["schema"], response.json()))


async def watch(hub: Any) -> Described:
    """The hub's own /openapi.json, checking every answer its client gets from now on."""
    watcher = Described((await hub.client.get("/openapi.json")).json())
    hub.client.event_hooks = {"request": [], "response": [watcher.check]}
    return watcher


async def call(hub: Any, method: str, path: str, status: int = 200, **given: Any) -> Any:
    response = await hub.client.request(method, path, **given)
    assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.headers["content-type"].startswith("application/json") else response.text


async def test_every_route_answers_as_described(hub: Any, fake_rasa: Any) -> None:
    described = await watch(hub)
    bot = hub.bot_headers
    for path in ("/health", "/openapi.json", "/", "/console", "/review", "/assets/socket.io.min.js", "/webhooks/rest/"):
        await call(hub, "GET", path)
    # The socket.io channel over engine.io's polling transport: the handshake, then socket.io's connect packet.
    handshake = await call(hub, "GET", "/socket.io/", params={"EIO": "4", "transport": "polling"})
    session = json.loads(handshake.removeprefix("0"))["sid"]
    polling = {"EIO": "4", "transport": "polling", "sid": session}
    await call(hub, "POST", "/socket.io/", params=polling, content=b"40", headers={"Content-Type": "text/plain"})

    # A customer talks to the bot, is offered a compensation and answers it, and asks for a person.
    sender = str(uuid.uuid4())
    [heard, buttons] = await hub.say(sender, "my internet is down")  # the fake Rasa's second message has buttons
    assert "buttons" in buttons and heard["custom"] == {"from": "bot"}
    assert (await hub.poll(sender)).json()["queue"] is None
    nobody = await call(hub, "GET", f"/api/bot/conversations/{uuid.uuid4()}/context", headers=bot)
    assert nobody["conversation_id"] is None and nobody["customer"] is None
    offer = await call(hub, "POST", "/api/bot/compensations", 201, json={**OFFER, "sender": sender}, headers=bot)
    await call(hub, "POST", "/api/bot/compensations", json={**OFFER, "sender": sender}, headers=bot)  # recorded: 200
    answer = {"sender": sender, "answer": "accepted", "amount": offer["amount"]}
    accepted = await call(hub, "POST", f"/api/bot/compensations/{offer['id']}/answer", json=answer, headers=bot)
    assert accepted["decided_at"] is not None
    context = await call(hub, "GET", f"/api/bot/conversations/{sender}/context", headers=bot)
    assert context["customer"] and context["incident"] and context["compensation"]
    apologies = [{"text": "I'm sorry about the outage.", "at": "2026-11-29T08:00:00Z"}]
    said = {"problem": "internet:isn't working", "text": apologies[0]["text"], "incident_id": context["incident"]["id"]}
    await call(hub, "POST", f"/api/bot/conversations/{sender}/apologies", 201, json=said, headers=bot)
    trajectory = {"trend": "rising", "level": "high", "score": 0.8, "causes": ["repeated_problem"]}
    escalated = (await hub.escalate(sender, apologies=apologies, trajectory=trajectory)).json()
    assert escalated["state"] == "queued"
    assert (await hub.poll(sender)).json()["queue"] is not None

    # Nobody is online: a message with an email address becomes a follow-up; a long wait raises an alert.
    await hub.say(sender, "write to me at marta.silva@example.com")
    wait = timedelta(seconds=hub.settings.wait_alert_seconds + 1)
    assert (await sweep(hub.core, models.utcnow() + wait)).wait_alerts

    # Agents take over: the queue, the follow-up, the alert, a claim, a message, the packet, a transfer, a handback.
    ana, ben = await hub.login("ana"), await hub.login("ben")  # ben is a supervisor
    await call(hub, "GET", "/api/agent/me", headers=ana)
    directory = await call(hub, "GET", "/api/agent/directory", headers=ana)
    assert "ben" in [a["agent"]["username"] for a in directory["agents"]] and directory["teams"]
    await call(hub, "PUT", "/api/agent/me/presence", json={"presence": "online"}, headers=ana)
    assert (await call(hub, "GET", "/api/agent/wait-alerts", headers=ben))["alerts"]
    assert (await call(hub, "GET", "/api/agent/overview", headers=ben))["apologies"]["apologies"] == 1
    [follow_up] = (await call(hub, "GET", "/api/agent/follow-ups", headers=ana))["follow_ups"]
    done = {"note": "emailed: the outage ends at 18:00"}
    await call(hub, "POST", f"/api/agent/follow-ups/{follow_up['id']}/done", json=done, headers=ana)
    [waiting] = (await call(hub, "GET", "/api/agent/queue", headers=ana))["queued"]
    conversation_id = waiting["conversation_id"]
    conversation = f"/api/agent/conversations/{conversation_id}"
    await call(hub, "POST", f"{conversation}/claim", headers=ana)
    assert (await call(hub, "GET", "/api/agent/queue", headers=ana))["mine"]
    await call(hub, "POST", f"{conversation}/messages", 201, json={"text": "Hi, Ana here."}, headers=ana)
    [from_ana] = await hub.say(sender, "hello?")  # the agent's message, not yet delivered
    assert from_ana["custom"] == {"from": "agent", "agent": "Ana"}
    assert (await hub.poll(sender)).json()["messages"]
    packet = await call(hub, "GET", conversation, headers=ana)
    assert packet["escalation"] and packet["ledger"]["apologies"] and packet["ledger"]["offers"]
    await call(hub, "GET", f"{conversation}/messages", headers=ana)
    customer_said = [m["id"] for m in packet["messages"] if m["role"] == "customer"]
    for message_id in customer_said[:2]:
        flag = {"note": "the bot should have answered this"}
        await call(hub, "POST", f"{conversation}/messages/{message_id}/flag", 201, json=flag, headers=ana)

    # A trainer reviews what the agent flagged: labels one item, discards the other.
    tess = await hub.login("tess")
    await call(hub, "GET", "/api/trainer/me", headers=tess)
    assert "ask_status" in (await call(hub, "GET", "/api/trainer/intents", headers=tess))["intents"]
    first, second = (await call(hub, "GET", "/api/trainer/review", headers=tess))["items"][:2]
    await call(hub, "GET", f"/api/trainer/review/{first['id']}", headers=tess)
    label = {"intent": "report_problem", "frustration": "low"}
    await call(hub, "POST", f"/api/trainer/review/{first['id']}/label", json=label, headers=tess)
    await call(hub, "POST", f"/api/trainer/review/{second['id']}/discard", headers=tess)
    await call(hub, "POST", f"{conversation}/transfer", json={"to_agent": "ben", "note": "billing"}, headers=ana)
    handed = await call(hub, "POST", f"{conversation}/handback", json={"note": "fixed"}, headers=ben)
    assert handed["rasa_notified"] is True

    # Another conversation is resolved; supervisors read the audit trail.
    other_sender, other = await hub.queued_conversation()
    await call(hub, "POST", f"/api/agent/conversations/{other}/claim", headers=ana)
    fix = {"text": "I have reset your line; give the router two minutes."}
    await call(hub, "POST", f"/api/agent/conversations/{other}/messages", 201, json=fix, headers=ana)
    fake_rasa.understood["thanks, it works"] = {"intent_ranking": [{"name": "thank", "confidence": 0.98}]}
    await hub.say(other_sender, "thanks, it works")
    await call(hub, "POST", f"/api/agent/conversations/{other}/resolve", json={"reason": "fixed"}, headers=ana)
    assert (await call(hub, "GET", "/api/agent/audit", headers=ben))["entries"]

    # The reply that worked is a response candidate: the trainer accepts it, then takes that back.
    await hub.core.finish_background(timeout=5)
    [candidate] = (await call(hub, "GET", "/api/trainer/responses", headers=tess))["candidates"]
    path = f"/api/trainer/responses/{candidate['id']}"
    await call(hub, "GET", path, headers=tess)
    await call(hub, "POST", f"{path}/accept", json={"response": "utter_line_reset"}, headers=tess)
    await call(hub, "POST", f"{path}/reject", headers=tess)
    await call(hub, "POST", "/api/trainer/logout", headers=tess)

    # The directory: customers and incidents.
    await call(hub, "GET", "/api/agent/customers/C-1001", headers=ana)
    assert (await call(hub, "GET", "/api/agent/incidents", headers=ana))["incidents"]
    opened = {"title": "TV outage in Porto", "severity": "minor", "services": ["tv"], "regions": ["Porto"]}
    incident = (await call(hub, "POST", "/api/agent/incidents", 201, json=opened, headers=ana))["incident"]
    resolved = await call(
        hub, "PATCH", f"/api/agent/incidents/{incident['id']}", json={"status": "resolved"}, headers=ana
    )
    assert resolved["incident"]["resolved_at"] is not None

    # Agents' compensation decisions, on an offer that needs approval (recorded without a conversation).
    pending = {**OFFER, "customer_id": "C-1002", "status": "pending_approval"}
    needs = await call(hub, "POST", "/api/bot/compensations", 201, json=pending, headers=bot)
    listed = await call(hub, "GET", "/api/agent/compensations", params={"status": "pending_approval"}, headers=ana)
    assert [c["id"] for c in listed["compensations"]] == [needs["id"]]
    await call(hub, "POST", f"/api/agent/compensations/{needs['id']}/approve", headers=ana)
    raised = {"amount": "10.00", "reason": "also lost a day of work"}
    await call(hub, "POST", f"/api/agent/compensations/{needs['id']}/override", json=raised, headers=ana)

    # Monitoring: an alert group opens an incident and resolves it; a repeated delivery changes nothing.
    alerts = {"Authorization": f"Bearer {hub.settings.service_token}", "Content-Type": "application/json"}
    for payload, changed in [(FIRING, True), (RESOLVED, True), (RESOLVED, False)]:
        delivered = await call(hub, "POST", "/api/alerts/alertmanager", content=payload, headers=alerts)
        assert delivered["changed"] is changed and delivered["incident"] is not None

    await call(hub, "POST", "/api/agent/logout", headers=ana)

    assert described.problems == [], "\n".join(described.problems)
    succeeded = {seen for seen in described.seen if 200 <= seen[2] < 300}
    documented = {(r.method, r.path, status) for r in ROUTES for status in r.statuses if 200 <= status < 300}
    assert documented - succeeded == set(), "routes (and statuses) the story did not call with success"


async def test_errors_answer_as_described(start_hub: Any, make_settings: Any) -> None:
    hub = await start_hub(make_settings(CANDOR_LOGIN_RATE="1"))
    watcher = await watch(hub)
    sender, conversation_id = await hub.queued_conversation()
    ana = await hub.login("ana")

    await call(hub, "POST", "/webhooks/rest/webhook", 400, json={"sender": sender})
    await call(hub, "GET", "/api/agent/queue", 401)
    await call(hub, "GET", "/api/agent/audit", 403, headers=ana)
    await call(hub, "GET", "/api/agent/overview", 403, headers=ana)
    await call(hub, "GET", "/api/agent/conversations/4242", 404, headers=ana)
    await call(hub, "GET", "/no/such/page", 404)
    await call(hub, "GET", "/webhooks/rest/webhook", 405)
    await call(hub, "POST", f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    await call(hub, "POST", f"/api/agent/conversations/{conversation_id}/claim", 409, headers=ana)
    huge = {"sender": sender, "message": "x", "metadata": {"blob": "y" * 70_000}}
    await call(hub, "POST", "/webhooks/rest/webhook", 413, json=huge)
    limited = await hub.client.post("/api/agent/login", json={"username": "ana", "password": "wrong"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]

    assert watcher.problems == [], "\n".join(watcher.problems)
    assert {status for _, _, status in watcher.seen} >= {400, 401, 403, 404, 409, 413, 429}


async def test_openapi_lists_every_route(hub: Any) -> None:
    document = (await hub.client.get("/openapi.json")).json()
    assert document["openapi"] == OPENAPI_VERSION and OPENAPI_VERSION.startswith("3.1")
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    served = {(r.method, r.path) for r in ROUTES}
    assert listed == served
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["summary"]
            assert any(status.startswith("2") for status in operation["responses"])
    webhook = document["paths"]["/webhooks/rest/webhook"]["post"]
    ref = webhook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"sender", "message"}


def test_every_schema_is_valid_json_schema() -> None:
    for name, schema in document()["components"]["schemas"].items():
        # pydantic names a model twice (-Input, -Output) when its schema as a body and as an answer differ
        assert not name.endswith(("-Input", "-Output")), name
        Draft202012Validator.check_schema(schema)


def test_openapi_matches_the_app_routes(make_settings: Any) -> None:
    app = create_app(make_settings(), name=f"routes_{uuid.uuid4().hex[:8]}")
    app.router.finalize()
    served = {
        (method, "/" + re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", route.path))
        for route in app.router.routes
        for method in route.methods
        if method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    }
    assert served == {(r.method, r.path.rstrip("/") or "/") for r in ROUTES}
    integers = {
        name for route in app.router.routes for name, kind in re.findall(r"<(\w+):(\w+)>", route.path) if kind == "int"
    }
    assert integers == INTEGER_PARAMETERS
