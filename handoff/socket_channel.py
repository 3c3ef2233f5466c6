"""Rasa's socket.io channel, served by the hub (contract 3): a client written for Rasa's SocketIOInput, such as
the rasa-webchat widget, talks to the hub unchanged, and the conversation gets the hub's guarantees.

The protocol is Rasa's: the client emits `session_request` {"session_id"} and gets `session_confirm` with the
session id (a new one when it sent none, or one too short to be unguessable); it emits `user_uttered`
{"message", "session_id", "metadata" or rasa-webchat's "customData"} and gets each message for it as a
`bot_uttered` event. The session id is the conversation's sender, exactly as REST's `sender`.

Everything the customer should see reaches them by one path: a delivery task per connection sends each stored
bot, agent and system message of the conversation once, in order, as soon as it is committed (woken like long
polls are, handoff/updates.py). So a user_uttered's answer, an agent's reply and a queue update all arrive the
same way, and a message is never sent twice on one connection.

Two shapes of `bot_uttered`:
- plain (default), what Rasa sends: {"text"}, {"text", "quick_replies"} or {"attachment"}, which rasa-webchat
  renders only when no other key is present. An agent's message starts with their name ("Rita: ..."), since
  the shape has nowhere else to say who is talking.
- rich, when session_request has "rich": true (Candor's widget): the REST channel's message (handoff/flows.py
  `to_channel`: "id", "custom": {"from", "agent"}), and after each batch a `candor_state` event
  {"state", "queue"} (where a waiting customer stands).

Resuming: a rich client sends "after": the id of the last message it has, and gets everything after it. A
plain client keeps its own history (rasa-webchat stores it): it gets the agent messages it has not been sent
yet, then everything new.

Signed-in customers: the customer token (handoff/customer_tokens.py) comes in session_request's
"customer_token" or in the message metadata; a conversation linked to a customer is delivered and written to
only with that customer's token. Errors (bad input, rate limits, a refused token) come back as a
`candor_error` event {"error", "status"}: Rasa's protocol has no error event, and plain clients ignore it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import socketio
from pydantic import TypeAdapter, ValidationError
from sanic import Sanic

from handoff import flows
from handoff.customer_tokens import SIGNED_IN_CUSTOMER_ONLY
from handoff.errors import BadRequest, HubError, Unauthorized
from handoff.flows import Hub, to_channel
from handoff.http import client_address, describe
from handoff.schemas import Conversation, Sender, WebhookBody
from handoff.updates import LOOK_AGAIN

__all__ = ["SocketChannel", "plain_shape"]

logger = logging.getLogger(__name__)

SOCKET_PATH = "socket.io"
_SENDER: TypeAdapter[str] = TypeAdapter(Sender)


def valid_sender(value: str) -> bool:
    """A valid conversation sender (schemas.Sender); a session id that is not one is replaced, not refused."""
    try:
        _SENDER.validate_python(value)
    except ValidationError:
        return False
    return True


@dataclass
class Connection:
    """One socket.io connection: whose conversation it shows, and how far it has been sent."""

    address: str  # the client's, for the per-address rate limit
    sender: str | None = None
    rich: bool = False
    token: str | None = None  # the customer token it proved, for the delivery of a linked conversation
    wanted_after: int | None = None  # a rich client's: the id of the last message it has
    after: int | None = None  # the id of the last message sent; None: not decided yet (no conversation)
    delivery: asyncio.Task[None] | None = field(default=None, repr=False)
    turn: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)  # one event at a time


def webhook_body(data: Any, connection: Connection) -> WebhookBody:
    """A user_uttered event as the REST webhook's body (BadRequest saying what is wrong). The metadata is
    "metadata" or rasa-webchat's "customData"; the connection's customer token is added when it has none."""
    data = data if isinstance(data, dict) else {}
    metadata = next((m for m in (data.get("metadata"), data.get("customData")) if isinstance(m, dict)), {})
    if connection.token and "customer_token" not in metadata:
        metadata = {**metadata, "customer_token": connection.token}
    sender = data.get("session_id") or connection.sender
    fields = {"sender": sender, "message": data.get("message"), "metadata": metadata}
    try:
        return WebhookBody.model_validate(fields)
    except ValidationError as error:
        raise BadRequest(describe(error)) from None


def plain_shape(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Rasa's SocketIOOutput sends it (from the REST shape `to_channel` makes)."""
    custom = message.get("custom") or {}
    text = message.get("text") or ""
    if custom.get("from") == "agent" and custom.get("agent"):
        text = f"{custom['agent']}: {text}"
    if message.get("buttons"):
        replies = [
            {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")} for b in message["buttons"]
        ]
        return {"text": text, "quick_replies": replies}
    if message.get("image") and not text:
        return {"attachment": {"type": "image", "payload": {"src": message["image"]}}}
    return {"text": text}


class SocketChannel:
    """The socket.io server attached to the hub's app at /socket.io/.

    The events of one connection are handled one at a time, in order (its `turn` lock): a message is answered
    before the next one is read, and a session is set up before a message for it is taken. Each connection has at
    most one delivery task, and none outlives the connection."""

    def __init__(self, app: Sanic[Any, Any], origins: tuple[str, ...] | None) -> None:
        # origins: the pages allowed to connect from another origin (CANDOR_SOCKET_ORIGINS); None: same origin only.
        self.app = app
        self.origins = frozenset(origin.lower() for origin in origins or ())
        self.sio = socketio.AsyncServer(
            async_mode="sanic", cors_allowed_origins=self.allows, max_http_buffer_size=64 * 1024, logger=False
        )
        self.sio.attach(app, socketio_path=SOCKET_PATH)
        self.connections: dict[str, Connection] = {}
        self.deliveries: set[asyncio.Task[None]] = set()
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        self.sio.on("session_request", self.session_request)
        self.sio.on("user_uttered", self.user_uttered)

    def allows(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """May a page of `origin` connect? The hub's own pages (the origin the request was sent to, also as a proxy
        forwarded it), and the configured ones. No origin: not a browser page (a browser sends one across sites)."""
        if not origin:
            return True
        origin = origin.lower()
        if "*" in self.origins or origin in self.origins:
            return True
        scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
        own = {f"{scheme}://{host}"}
        if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
            forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
            forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
            own.add(f"{forwarded_scheme}://{forwarded_host}")
        return origin in {o.lower() for o in own}

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.ctx.hub
        return hub

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ.get("sanic.request")
        address = client_address(request) if request is not None else "unknown"
        try:
            self.hub.limits.address.check(address)
        except HubError as error:
            raise socketio.exceptions.ConnectionRefusedError(error.message) from None
        self.connections[sid] = Connection(address=address)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        connection = self.connections.pop(sid, None)
        if connection is not None:
            self._stop(connection)

    async def _error(self, sid: str, error: HubError) -> None:
        await self.sio.emit("candor_error", {"error": error.message, "status": error.status}, to=sid)

    async def session_request(self, sid: str, data: Any) -> None:
        connection = self.connections.get(sid)
        if connection is None:
            return
        async with connection.turn:
            try:
                self.hub.limits.address.check(connection.address)
            except HubError as error:
                await self._error(sid, error)
                return
            data = data if isinstance(data, dict) else {}
            given, token, after = data.get("session_id"), data.get("customer_token"), data.get("after")
            sender = given if isinstance(given, str) and valid_sender(given) else uuid.uuid4().hex
            if sender != connection.sender:
                self._stop(connection)  # another session on this connection: nothing of the last one goes on
            connection.sender, connection.rich = sender, data.get("rich") is True
            connection.token = token if isinstance(token, str) else None
            connection.wanted_after = after if isinstance(after, int) and not isinstance(after, bool) else None
            await self.sio.emit("session_confirm", sender, to=sid)
            conversation = await self.hub.repository.conversation_by_sender(sender)
            if conversation is None:
                return  # delivery starts with the first message
            try:
                allowed = self.hub.claim(connection.token).may_use(conversation.customer_id)
            except HubError as error:  # a token that does not verify
                await self._error(sid, error)
                return
            if not allowed:  # delivery starts once a message proves the customer
                await self._error(sid, Unauthorized(SIGNED_IN_CUSTOMER_ONLY))
                return
            await self._start(sid, connection, conversation)

    async def user_uttered(self, sid: str, data: Any) -> dict[str, Any]:
        """A customer's message. Acknowledged (for clients that ask) with {"ok": true} once stored and answered,
        or {"error", "status"}; the answer itself comes by the delivery, like every other message."""
        connection = self.connections.get(sid)
        if connection is None:
            return {"error": "not connected", "status": 400}
        async with connection.turn:
            try:
                await self._take(sid, connection, data)
            except HubError as error:
                if not connection.rich:  # a rich client reads the acknowledgement
                    await self._error(sid, error)
                return {"error": error.message, "status": error.status}
            return {"ok": True}

    async def _take(self, sid: str, connection: Connection, data: Any) -> None:
        hub = self.hub
        hub.limits.address.check(connection.address)
        body = webhook_body(data, connection)
        claim = hub.admit(body)
        if body.sender != connection.sender:
            self._stop(connection)
            connection.sender = body.sender
        if connection.delivery is None:  # this message may be what proves the customer: catch up first
            existing = await hub.repository.conversation_by_sender(body.sender)
            if existing is not None and claim.may_use(existing.customer_id):
                connection.token = body.metadata.get("customer_token")
                await self._start(sid, connection, existing)
        await flows.customer_message(hub, body, claim)
        if connection.delivery is None:  # a new conversation: all of it
            conversation = await hub.repository.conversation_by_sender(body.sender)
            if conversation is not None:
                connection.token, connection.after = body.metadata.get("customer_token"), 0
                self._deliver(sid, connection, conversation)

    async def _start(self, sid: str, connection: Connection, conversation: Conversation) -> None:
        """Deliver this conversation from where the client is: after the message it named (a rich client), or, for
        a client that keeps its own history, the agent messages never sent to it, then only what is new."""
        if connection.rich and connection.wanted_after is not None and connection.wanted_after >= 0:
            connection.after = connection.wanted_after
            await self._send_state(sid, conversation.id)  # where it stands now, before anything new is said
        else:
            connection.after = await self.hub.repository.last_message_id(conversation.id)
            for message in await self.hub.repository.take_undelivered_agent_messages(conversation.id):
                await self._send(sid, connection, to_channel(message, connection.sender or ""))
        self._deliver(sid, connection, conversation)

    def _deliver(self, sid: str, connection: Connection, conversation: Conversation) -> None:
        if self.connections.get(sid) is not connection:
            return  # the client left meanwhile
        self._stop(connection)
        task = asyncio.create_task(self._delivery(sid, connection, conversation), name=f"candor-socket-{sid}")
        connection.delivery = task
        self.deliveries.add(task)
        task.add_done_callback(self.deliveries.discard)

    @staticmethod
    def _stop(connection: Connection) -> None:
        if connection.delivery is not None:
            connection.delivery.cancel()
            connection.delivery = None

    async def _delivery(self, sid: str, connection: Connection, conversation: Conversation) -> None:
        """Until the connection closes: every new bot, agent and system message, once, in order; while the
        customer's token is good (a linked conversation)."""
        try:
            while True:
                messages = await flows.new_messages(
                    self.hub, conversation.id, connection.after or 0, LOOK_AGAIN, customer=True
                )
                if not self.hub.claim(connection.token).may_use(conversation.customer_id):
                    raise Unauthorized(SIGNED_IN_CUSTOMER_ONLY)
                for message in messages:
                    await self._send(sid, connection, to_channel(message, connection.sender or ""))
                    connection.after = message.id
                if messages and connection.rich:
                    await self._send_state(sid, conversation.id)
        except asyncio.CancelledError:
            raise
        except HubError as error:  # the token expired: the client signs in again and reconnects
            await self._error(sid, error)
        except Exception:  # the client reconnects and resumes; the hub keeps running
            logger.exception("socket.io delivery to %s stopped", sid)
            with contextlib.suppress(Exception):
                await self.sio.disconnect(sid)

    async def _send(self, sid: str, connection: Connection, message: dict[str, Any]) -> None:
        if connection.rich:
            await self.sio.emit("bot_uttered", {k: v for k, v in message.items() if k != "recipient_id"}, to=sid)
        else:
            await self.sio.emit("bot_uttered", plain_shape(message), to=sid)

    async def _send_state(self, sid: str, conversation_id: int) -> None:
        conversation = await self.hub.repository.conversation(conversation_id)
        await self.sio.emit("candor_state", await flows.standing(self.hub, conversation), to=sid)

    async def close(self) -> None:
        """Stop every delivery (the server is stopping)."""
        tasks = list(self.deliveries)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
