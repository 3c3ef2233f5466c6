"""Rasa's socket.io channel, served by the hub (contract 3; handoff/socket_channel.py), with a real socket.io
client against the running hub: Rasa's event names and message shapes, push of agent messages, resume
without loss or duplicates, and the same checks as the REST channel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio

from tests.handoff.conftest import customer_token

pytestmark = pytest.mark.asyncio


class Client:
    """A socket.io client that records what the hub emits to it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        names = ("session_confirm", "bot_uttered", "candor_error", "candor_state")
        self.events: dict[str, list[Any]] = {name: [] for name in names}
        for name, seen in self.events.items():
            self.sio.on(name, seen.append)

    async def connect(self, headers: dict[str, str] | None = None) -> None:
        await self.sio.connect(self.url, headers=headers or {}, transports=["websocket"], wait_timeout=5)

    async def session(self, **data: Any) -> str:
        count = len(self.events["session_confirm"]) + 1
        await self.sio.emit("session_request", data)
        confirmed = await self.wait_for("session_confirm", count)
        return str(confirmed[-1])

    async def say(self, session_id: str, text: str, **extra: Any) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id, **extra})

    async def wait_for(self, event: str, count: int, timeout: float = 10) -> list[Any]:
        """The first `count` events of this name, waiting for them; fails after `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events[event]) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{event}: {self.events[event]} (wanted {count})"
            await asyncio.sleep(0.02)
        return self.events[event][:count]

    async def quiet(self, event: str, count: int, seconds: float = 0.5) -> None:
        """Still exactly `count` events of this name after `seconds` (nothing more arrives)."""
        await asyncio.sleep(seconds)
        assert len(self.events[event]) == count, self.events[event]


@pytest.fixture()
async def client(hub: Any) -> AsyncIterator[Callable[[], Any]]:
    made: list[Client] = []

    async def make(headers: dict[str, str] | None = None) -> Client:
        made.append(Client(hub.url))
        await made[-1].connect(headers)
        return made[-1]

    yield make
    for each in made:
        await each.sio.disconnect()


def signed_in(customer_id: str = "C-1001") -> dict[str, Any]:
    return {"customData": {"customer_token": customer_token(customer_id)}}


async def test_a_rasa_client_gets_rasas_events_and_shapes(hub: Any, client: Any, fake_rasa: Any) -> None:
    webchat = await client()
    session_id = await webchat.session(session_id=None)  # rasa-webchat's first session_request
    assert len(session_id) == 32
    await webchat.say(session_id, "hello", **signed_in())
    said = await webchat.wait_for("bot_uttered", 2)
    # Exactly Rasa's SocketIOOutput shapes: rasa-webchat renders a message only when no other key is present.
    assert said == [
        {"text": "bot heard: hello"},
        {"text": "Anything else?", "quick_replies": [{"content_type": "text", "title": "No", "payload": "/deny"}]},
    ]
    assert fake_rasa.messages() == ["hello"]
    conversation = await hub.repository.conversation_by_sender(session_id)
    transcript = [(m.role, m.text) for m in await hub.repository.messages(conversation.id)]
    assert transcript == [("customer", "hello"), ("bot", "bot heard: hello"), ("bot", "Anything else?")]
    await webchat.quiet("bot_uttered", 2)


async def test_an_agents_messages_are_pushed_with_who_is_talking(hub: Any, client: Any, fake_rasa: Any) -> None:
    webchat = await client()
    session_id = await webchat.session(session_id=uuid.uuid4().hex)
    await webchat.say(session_id, "my internet is down", **signed_in())
    await webchat.wait_for("bot_uttered", 2)
    assert (await hub.escalate(session_id)).status_code == 200
    conversation = await hub.repository.conversation_by_sender(session_id)
    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation.id}/claim", headers=ana)
    sent = await hub.client.post(
        f"/api/agent/conversations/{conversation.id}/messages", headers=ana, json={"text": "Hi, Ana here."}
    )
    assert sent.status_code == 201, sent.text
    said = await webchat.wait_for("bot_uttered", 4)  # pushed: the customer sent nothing since
    assert said[2:] == [{"text": "Ana from the team has this conversation now."}, {"text": "Ana: Hi, Ana here."}]

    await webchat.say(session_id, "thanks, still down", **signed_in())
    for _ in range(100):
        agent_view = await hub.client.get(f"/api/agent/conversations/{conversation.id}/messages", headers=ana)
        if "thanks, still down" in [m["text"] for m in agent_view.json()["messages"]]:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the customer's message did not reach the agent")
    assert fake_rasa.messages() == ["my internet is down"]  # never the bot while a person is in charge
    await webchat.quiet("bot_uttered", 4)


async def test_a_rich_client_resumes_after_a_drop_without_loss_or_duplicates(hub: Any, client: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    token = customer_token("C-1001")
    widget = await client()
    await widget.session(session_id=sender, rich=True, customer_token=token, after=0)
    before = await widget.wait_for("bot_uttered", 2)  # the bot's two answers (the bot says the queue notice)
    assert [m["custom"]["from"] for m in before] == ["bot", "bot"]
    state = await widget.wait_for("candor_state", 1)
    assert state[0]["state"] == "queued" and state[0]["queue"]["position"] == 1
    await widget.sio.disconnect()  # the network drops

    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    for text in ("First, while you were away.", "Second."):
        await hub.client.post(f"/api/agent/conversations/{conversation_id}/messages", headers=ana, json={"text": text})

    again = await client()
    await again.session(session_id=sender, rich=True, customer_token=token, after=before[-1]["id"])
    assert (await again.wait_for("candor_state", 1))[0]["state"] == "agent"  # told where it stands at once
    missed = await again.wait_for("bot_uttered", 3)
    assert [(m["custom"]["from"], m["text"]) for m in missed] == [
        ("system", "Ana from the team has this conversation now."),
        ("agent", "First, while you were away."),
        ("agent", "Second."),
    ]
    assert missed[1]["custom"]["agent"] == "Ana" and missed[0]["id"] < missed[1]["id"] < missed[2]["id"]
    await again.quiet("bot_uttered", 3)


async def test_a_plain_client_reconnecting_gets_only_agent_messages_it_was_never_sent(hub: Any, client: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/messages", headers=ana, json={"text": "Hello?"})
    webchat = await client()
    await webchat.session(session_id=sender, customer_token=customer_token("C-1001"))
    assert await webchat.wait_for("bot_uttered", 1) == [{"text": "Ana: Hello?"}]
    await webchat.quiet("bot_uttered", 1)
    assert (await hub.say(sender, "hi", message_id=None)) == []  # and REST does not hand it out a second time


async def test_a_signed_in_customers_conversation_needs_their_token(hub: Any, client: Any) -> None:
    sender, _ = await hub.queued_conversation()
    stranger = await client()
    await stranger.session(session_id=sender)
    assert (await stranger.wait_for("candor_error", 1))[0]["status"] == 401
    await stranger.say(sender, "let me in")
    await stranger.say(sender, "let me in", **signed_in("C-1002"))  # another customer's token
    errors = await stranger.wait_for("candor_error", 3)
    assert [e["status"] for e in errors] == [401, 401, 401]
    await stranger.quiet("bot_uttered", 0)
    conversation = await hub.repository.conversation_by_sender(sender)
    assert "let me in" not in [m.text for m in await hub.repository.messages(conversation.id)]


async def test_bad_input_is_refused_with_a_reason_and_nothing_stored(hub: Any, client: Any, fake_rasa: Any) -> None:
    webchat = await client()
    session_id = await webchat.session(session_id="short")  # too short to be unguessable: replaced
    assert session_id != "short" and len(session_id) == 32
    await webchat.say(session_id, "x" * 5000)
    await webchat.say(session_id, "")
    errors = await webchat.wait_for("candor_error", 2)
    assert [e["status"] for e in errors] == [400, 400] and "message" in errors[0]["error"]
    assert await hub.repository.conversation_by_sender(session_id) is None and fake_rasa.messages() == []


async def test_pages_of_other_origins_connect_only_when_configured(start_hub: Any, make_settings: Any) -> None:
    shop = "http://shop.example.com"
    closed = await start_hub()
    refused = Client(closed.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect({"Origin": shop})
    await refused.sio.eio.http.close()  # a refused connection leaves its HTTP session open
    opened = await start_hub(make_settings(CANDOR_SOCKET_ORIGINS=shop))
    for origin in (shop, opened.url):  # the configured site, and still the hub's own pages
        allowed = Client(opened.url)
        await allowed.connect({"Origin": origin})
        assert len(await allowed.session()) == 32
        await allowed.sio.disconnect()
    other = Client(opened.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await other.connect({"Origin": "http://elsewhere.example.com"})
    await other.sio.eio.http.close()


async def test_a_rich_client_reads_each_messages_outcome_in_its_acknowledgement(hub: Any, client: Any) -> None:
    widget = await client()
    session_id = await widget.session(rich=True)
    token = customer_token("C-1001")
    data = {"session_id": session_id, "metadata": {"customer_token": token, "message_id": "m-1"}}
    assert await widget.sio.call("user_uttered", {**data, "message": "hello"}, timeout=10) == {"ok": True}
    assert await widget.sio.call("user_uttered", {**data, "message": "hello"}, timeout=10) == {"ok": True}  # a retry
    refused = await widget.sio.call("user_uttered", {**data, "message": ""}, timeout=10)
    assert refused["status"] == 400 and "message" in refused["error"]
    await widget.wait_for("bot_uttered", 2)
    await widget.quiet("bot_uttered", 2)  # the retry was answered once: nothing sent twice
    assert widget.events["candor_error"] == []  # a rich client reads errors in the acknowledgement
    conversation = await hub.repository.conversation_by_sender(session_id)
    assert [m.text for m in await hub.repository.messages(conversation.id) if m.role == "customer"] == ["hello"]


async def test_a_client_gone_mid_turn_leaves_nothing_running_that_takes_its_messages(
    hub: Any, client: Any, fake_rasa: Any
) -> None:
    sender, token = uuid.uuid4().hex, customer_token("C-1001")
    fake_rasa.mode, fake_rasa.delay = "slow", 1.0
    leaving = await client()
    await leaving.session(session_id=sender, customer_token=token)
    await leaving.say(sender, "my internet is down", **signed_in())
    await asyncio.sleep(0.3)
    await leaving.sio.disconnect()  # the tab closes while the bot thinks
    await asyncio.sleep(1.5)  # the turn ends with nobody connected
    fake_rasa.mode = "ok"

    assert (await hub.escalate(sender)).status_code == 200
    conversation = await hub.repository.conversation_by_sender(sender)
    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation.id}/claim", headers=ana)
    await hub.client.post(f"/api/agent/conversations/{conversation.id}/messages", headers=ana, json={"text": "Hi"})
    back = await client()  # the customer opens the chat again
    await back.session(session_id=sender, customer_token=token)
    assert await back.wait_for("bot_uttered", 1) == [{"text": "Ana: Hi"}]  # not taken by a task left behind


async def test_every_event_counts_against_the_clients_address(start_hub: Any, make_settings: Any) -> None:
    hub = await start_hub(make_settings(CANDOR_ADDRESS_RATE="4"))
    busy = Client(hub.url)
    await busy.connect()  # 1
    answers = [
        await busy.sio.call("user_uttered", {"message": "hi", "session_id": uuid.uuid4().hex}, timeout=10)
        for _ in range(5)
    ]
    assert [a.get("status", 200) for a in answers] == [200, 200, 200, 429, 429]
    await busy.sio.disconnect()


async def test_a_reloaded_plain_client_proving_its_customer_gets_only_what_is_new(hub: Any, client: Any) -> None:
    first = await client()
    session_id = await first.session(session_id=None)
    await first.say(session_id, "one", **signed_in())
    assert len(await first.wait_for("bot_uttered", 2)) == 2
    await first.sio.disconnect()

    again = await client()  # rasa-webchat after a reload: the session id, and the token only with messages
    await again.session(session_id=session_id)
    assert (await again.wait_for("candor_error", 1))[0]["status"] == 401  # nothing delivered without the token
    await again.say(session_id, "two", **signed_in())
    said = await again.wait_for("bot_uttered", 2)
    assert said[0] == {"text": "bot heard: two"}
    await again.quiet("bot_uttered", 2)  # not the answers to "one" again


async def test_a_new_session_on_the_same_connection_gets_its_own_answers(hub: Any, client: Any) -> None:
    webchat = await client()
    old = await webchat.session(session_id=None)
    await webchat.say(old, "first", **signed_in())
    await webchat.wait_for("bot_uttered", 2)
    new = await webchat.session(session_id=None)  # the second session_confirm
    assert new != old
    await webchat.say(new, "second", **signed_in())
    said = await webchat.wait_for("bot_uttered", 4)
    assert said[2] == {"text": "bot heard: second"}
    await webchat.quiet("bot_uttered", 4)
