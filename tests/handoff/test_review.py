"""The trainers' review inbox in the hub (handoff/review.py): what enters it and why, redacted; the trainer role and
its routes; an agent's flag. On a real hub and database; the bot is the fake Rasa, whose tracker API answers what
its NLU "understood" of each message (tests/e2e has the real bot)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from typing import Any, get_args

from handoff import review
from handoff.schemas import ReviewReason, ReviewState
from tests.handoff.conftest import SERVICE_TOKEN

UNSURE = {
    "intent_ranking": [{"name": "ask_status", "confidence": 0.41}, {"name": "report_problem", "confidence": 0.36}]
}
FELL_BACK = {
    "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "out_of_scope", "confidence": 0.22},
        {"name": "ask_status", "confidence": 0.05},
    ],
    "frustration": {"score": 0.71, "level": "medium"},
}


async def inbox(hub: Any, tess: dict[str, str], state: str = "open", wanted: int = 1) -> list[dict[str, Any]]:
    """The inbox's items in `state` once it holds `wanted` of them (it fills after the bot's answer, off the
    customer's time); what it holds after 5 s otherwise."""
    for _ in range(100):
        response = await hub.client.get("/api/trainer/review", params={"state": state}, headers=tess)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if len(items) >= wanted:
            return items
        await asyncio.sleep(0.05)
    return items


async def settled(hub: Any) -> None:
    """The hub's background work (reading what the bot understood) has finished."""
    await hub.core.finish_background(timeout=5)


async def test_an_unsure_turn_enters_the_inbox_redacted_with_its_context_and_prediction(
    hub: Any, fake_rasa: Any
) -> None:
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi, my email is marta.silva@example.com")
    text = "is order ORD-12345 for 07700 900123 coming or not"
    fake_rasa.understood[text] = UNSURE
    await hub.say(sender, text)
    await settled(hub)

    [item] = await inbox(hub, tess)
    assert item["text"] == "is order ORD-00000 for [phone] coming or not"
    assert item["entities"] == [{"start": 9, "end": 18, "entity": "order_id"}]
    assert item["reasons"] == ["low_confidence", "ambiguous"]
    assert (item["intent"], item["confidence"]) == ("ask_status", 0.41)
    assert [r["name"] for r in item["ranking"]] == ["ask_status", "report_problem"]
    assert item["frustration_level"] == "none" and item["frustration_score"] == 0.1
    roles = [line["role"] for line in item["context"]]
    assert roles[0] == "customer" and "bot" in roles
    assert item["context"][0]["text"] == "hi, my email is [email]"
    assert "marta" not in json.dumps(item) and "12345" not in json.dumps(item)  # nothing personal in the inbox
    # The confident first message did not enter it; the transcript itself keeps what the customer wrote.
    ana = await hub.login("ana")
    await hub.escalate(sender)
    packet = (await hub.client.get(f"/api/agent/conversations/{item['conversation_id']}", headers=ana)).json()
    assert text in [m["text"] for m in packet["messages"]]


async def test_fallback_and_sounds_fake_are_reasons_and_confident_turns_are_not(hub: Any, fake_rasa: Any) -> None:
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())
    fake_rasa.understood["blorp the modem thing"] = FELL_BACK
    for text in ("my internet is down", "blorp the modem thing", "why does every response sound fake?", "/greet"):
        await hub.say(sender, text)
    await settled(hub)

    items = sorted(await inbox(hub, tess, wanted=2), key=lambda i: i["message_id"])  # filled as turns finish
    assert [(i["text"], i["reasons"]) for i in items] == [
        ("blorp the modem thing", ["fallback", "low_confidence"]),
        ("why does every response sound fake?", ["sounds_fake"]),
    ]
    # A fallback shows the best real intent, and the frustration the bot measured.
    assert items[0]["intent"] == "out_of_scope" and items[0]["frustration_level"] == "medium"


async def test_the_messages_that_led_up_to_an_escalation_enter_the_inbox(hub: Any, fake_rasa: Any) -> None:
    """The bot escalates during its turn (as action_handoff does): that message and the two before it enter."""
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())

    def escalate_on_request(who: str, text: str) -> None:
        if text == "just get me a person":
            body = {"reason": "customer_requested_human", "summary": "asked for a person", "frustration": []}
            request = urllib.request.Request(
                f"{hub.url}/api/bot/conversations/{who}/escalate",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "X-Candor-Service-Token": SERVICE_TOKEN},
            )
            urllib.request.urlopen(request, timeout=5).read()

    fake_rasa.during_turn = escalate_on_request
    said = {
        "hello": "greet",
        "my tv is broken": "report_problem",
        "it says no signal": "ask_status",
        "still nothing": "express_frustration",
        "just get me a person": "request_human",
    }
    for text, intent in said.items():
        fake_rasa.understood[text] = {"intent_ranking": [{"name": intent, "confidence": 0.93}]}
        await hub.say(sender, text)
    await settled(hub)

    items = sorted(await inbox(hub, tess, wanted=3), key=lambda i: i["message_id"])
    lead_up = list(said.items())[-3:]
    # Each with what the bot understood of it (read from the tracker's events, matched by the hub's message id).
    assert [(i["text"], i["reasons"], i["intent"]) for i in items] == [(t, ["escalated"], n) for t, n in lead_up]


async def test_a_turn_whose_tracker_moved_on_is_found_among_its_events(hub: Any, fake_rasa: Any) -> None:
    """The tracker's latest message is already another one (the customer wrote again): the hub reads the events."""
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())
    fake_rasa.understood["is it the router or the line"] = UNSURE
    fake_rasa.understood["ok thanks"] = {"intent_ranking": [{"name": "thank", "confidence": 0.99}]}
    await hub.say(sender, "ok thanks")
    fake_rasa.behind = 1
    await hub.say(sender, "is it the router or the line")
    await settled(hub)
    [item] = await inbox(hub, tess)
    assert (item["text"], item["intent"], item["confidence"]) == ("is it the router or the line", "ask_status", 0.41)
    assert any("include_events=ALL" in read for read in fake_rasa.tracker_reads)


async def test_an_agent_flags_what_the_bot_should_have_handled(hub: Any, fake_rasa: Any) -> None:
    tess, ana = await hub.login("tess"), await hub.login("ana")
    confident = {"intent_ranking": [{"name": "out_of_scope", "confidence": 0.97}]}  # sure, and wrong
    fake_rasa.understood["can you move my appointment to friday"] = confident
    _, conversation_id = await hub.queued_conversation("can you move my appointment to friday")
    await settled(hub)
    messages = (await hub.client.get(f"/api/agent/conversations/{conversation_id}/messages", headers=ana)).json()
    customer = next(m for m in messages["messages"] if m["role"] == "customer")
    bot = next(m for m in messages["messages"] if m["role"] == "bot")
    flag = f"/api/agent/conversations/{conversation_id}/messages/{customer['id']}/flag"

    note = {"note": "a simple reschedule; she gave 07700 900123 to call"}
    response = await hub.client.post(flag, json=note, headers=ana)
    assert response.status_code == 201, response.text
    item = response.json()["review_item"]
    assert item["reasons"] == ["agent_flagged"] and item["note"] == "a simple reschedule; she gave [phone] to call"
    assert (item["intent"], item["confidence"]) == ("out_of_scope", 0.97)  # what the bot made of it, from its tracker
    [listed] = await inbox(hub, tess)
    assert listed["id"] == item["id"]

    bot_flag = f"/api/agent/conversations/{conversation_id}/messages/{bot['id']}/flag"
    assert (await hub.client.post(bot_flag, json={}, headers=ana)).status_code == 400
    _, other = await hub.queued_conversation()
    elsewhere = f"/api/agent/conversations/{other}/messages/{customer['id']}/flag"
    assert (await hub.client.post(elsewhere, json={}, headers=ana)).status_code == 404
    assert (await hub.client.post(flag, json={}, headers=tess)).status_code == 403  # trainers are not agents

    # Discarded, then flagged again by an agent: open again, its old label gone.
    label = {"intent": "ask_status", "frustration": "none"}
    assert (
        await hub.client.post(f"/api/trainer/review/{item['id']}/label", json=label, headers=tess)
    ).status_code == 200
    await hub.client.post(f"/api/trainer/review/{item['id']}/discard", headers=tess)
    again = (await hub.client.post(flag, json={"note": "really, look again"}, headers=ana)).json()["review_item"]
    assert (again["id"], again["state"], again["label_intent"], again["note"]) == (
        item["id"],
        "open",
        None,
        "really, look again",
    )


async def test_trainers_label_or_discard_within_the_domain(hub: Any, fake_rasa: Any) -> None:
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())
    for text in ("where is order 55512 now", "asdf"):
        fake_rasa.understood[text] = UNSURE
        await hub.say(sender, text)
    await settled(hub)
    order, noise = sorted(await inbox(hub, tess, wanted=2), key=lambda i: i["message_id"])
    vocabulary = (await hub.client.get("/api/trainer/intents", headers=tess)).json()
    assert "ask_status" in vocabulary["intents"] and "order_id" in vocabulary["entities"]

    label = f"/api/trainer/review/{order['id']}/label"
    wrong = [
        {"intent": "track_parcel", "frustration": "none"},  # not an intent of the domain
        {"intent": "ask_status", "frustration": "furious"},
        {"intent": "ask_status", "frustration": "none", "entities": [{"start": 5, "end": 60, "entity": "order_id"}]},
        {"intent": "ask_status", "frustration": "none", "entities": [{"start": 0, "end": 5, "entity": "colour"}]},
        {
            "intent": "ask_status",
            "frustration": "none",
            "entities": [{"start": 0, "end": 5, "entity": "order_id"}, {"start": 3, "end": 8, "entity": "order_id"}],
        },
    ]
    for body in wrong:
        response = await hub.client.post(label, json=body, headers=tess)
        assert response.status_code == 400, body
        assert response.json()["error"]
    labelled = await hub.client.post(label, json={"intent": "ask_status", "frustration": "low"}, headers=tess)
    assert labelled.status_code == 200, labelled.text
    item = labelled.json()["item"]
    assert (item["state"], item["label_intent"], item["label_frustration"]) == ("labelled", "ask_status", "low")
    assert item["entities"] == [{"start": 15, "end": 24, "entity": "order_id"}]  # the ones it had
    assert item["decided_by"] == "trainer:tess"

    discarded = await hub.client.post(f"/api/trainer/review/{noise['id']}/discard", headers=tess)
    assert discarded.json()["item"]["state"] == "discarded"
    again = await hub.client.post(
        f"/api/trainer/review/{noise['id']}/label", json={"intent": "greet", "frustration": "none"}, headers=tess
    )
    assert again.status_code == 409
    assert [i["id"] for i in await inbox(hub, tess, state="labelled")] == [order["id"]]
    assert (await hub.client.get("/api/trainer/review/999999", headers=tess)).status_code == 404
    assert (await hub.client.get("/api/trainer/review", params={"state": "new"}, headers=tess)).status_code == 400


async def test_a_button_payload_is_never_reviewed(hub: Any) -> None:
    ana = await hub.login("ana")
    _, conversation_id = await hub.queued_conversation("/request_human")
    messages = (await hub.client.get(f"/api/agent/conversations/{conversation_id}/messages", headers=ana)).json()
    payload = next(m for m in messages["messages"] if m["role"] == "customer")
    flag = f"/api/agent/conversations/{conversation_id}/messages/{payload['id']}/flag"
    refused = await hub.client.post(flag, json={}, headers=ana)
    assert refused.status_code == 400 and "payload" in refused.json()["error"]


def test_the_record_shapes_name_the_rules_states_and_reasons() -> None:
    assert get_args(ReviewState) == review.STATES and get_args(ReviewReason) == review.REASONS


async def test_trainer_and_agent_accounts_keep_to_their_own_routes(hub: Any) -> None:
    tess_password = {"username": "tess", "password": "candor-demo-tess"}
    assert (await hub.client.post("/api/agent/login", json=tess_password)).status_code == 403
    ana_password = {"username": "ana", "password": "candor-demo-ana"}
    assert (await hub.client.post("/api/trainer/login", json=ana_password)).status_code == 403
    tess, ana = await hub.login("tess"), await hub.login("ana")
    assert (await hub.client.get("/api/agent/queue", headers=tess)).status_code == 403
    assert (await hub.client.get("/api/trainer/review", headers=ana)).status_code == 403
    assert (await hub.client.get("/api/trainer/review")).status_code == 401
    me = (await hub.client.get("/api/trainer/me", headers=tess)).json()
    assert me["trainer"]["role"] == "trainer"
    # A trainer is never someone a conversation can go to.
    directory = (await hub.client.get("/api/agent/directory", headers=ana)).json()
    assert "tess" not in [a["agent"]["username"] for a in directory["agents"]]


async def test_without_the_inbox_or_the_tracker_the_turn_is_answered_all_the_same(
    start_hub: Any, make_settings: Any, fake_rasa: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_REVIEW_INBOX="0"))
    sender = str(uuid.uuid4())
    fake_rasa.understood["hmm"] = UNSURE
    assert await hub.say(sender, "hmm")
    await settled(hub)
    assert fake_rasa.tracker_reads == []
    assert (await hub.repository.review_items(None, 0, 10))[0] == []


async def test_a_failing_tracker_loses_only_the_inbox_view(hub: Any, fake_rasa: Any) -> None:
    """Rasa's tracker API failing after the answer: the words still say "fake"; nothing else enters."""
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())
    await hub.say(sender, "my internet is down")

    def broken(path: str) -> tuple[int, Any]:
        fake_rasa.tracker_reads.append(path)
        return 500, {"error": "boom"}

    fake_rasa.tracker = broken
    fake_rasa.understood["hmm"] = UNSURE
    await hub.say(sender, "hmm")
    await hub.say(sender, "this is so scripted")
    await settled(hub)
    [item] = await inbox(hub, tess)
    assert (item["text"], item["reasons"], item["intent"]) == ("this is so scripted", ["sounds_fake"], None)
