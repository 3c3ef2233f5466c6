"""Response candidates in the hub (handoff/response_candidates.py): an agent's reply that worked is proposed,
redacted, when the agent resolves or hands back; a trainer accepts it (with the text the bot should say) or rejects
it. On a real hub and database; the bot is the fake Rasa, whose parse API answers what its NLU "understood" of the
customer's reaction (tests/e2e has the real bot)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, get_args

from handoff import response_candidates
from handoff.schemas import ResponseState

THANKS = {"intent_ranking": [{"name": "thank", "confidence": 0.97}], "frustration": {"score": 0.05, "level": "none"}}
ANGRY_THANKS = {
    "intent_ranking": [{"name": "thank", "confidence": 0.9}],
    "frustration": {"score": 0.9, "level": "high"},
}
FIX = "Marta, I have reset your line from our side; give the router two minutes and it should hold."


async def with_ana(
    hub: Any, turns: list[tuple[str, str]], end: str = "resolve", before_end: Callable[[], None] | None = None
) -> int:
    """A conversation of Marta's (C-1001) that Ana claims, the turns [(role, text)], then resolved or handed back
    (`before_end` called just before)."""
    sender, conversation_id = await hub.queued_conversation("my router keeps dropping since the outage")
    ana = await hub.login("ana")
    path = f"/api/agent/conversations/{conversation_id}"
    assert (await hub.client.post(f"{path}/claim", headers=ana)).status_code == 200
    for role, text in turns:
        if role == "agent":
            sent = await hub.client.post(f"{path}/messages", headers=ana, json={"text": text})
            assert sent.status_code == 201, sent.text
        else:
            await hub.say(sender, text)
    if before_end is not None:
        before_end()
    body = {"reason": "fixed"} if end == "resolve" else {"note": "line reset"}
    ended = await hub.client.post(f"{path}/{end}", headers=ana, json=body)
    assert ended.status_code == 200, ended.text
    await hub.core.finish_background(timeout=5)
    return int(conversation_id)


async def candidates(hub: Any, tess: dict[str, str], state: str = "proposed") -> list[dict[str, Any]]:
    response = await hub.client.get("/api/trainer/responses", params={"state": state}, headers=tess)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["candidates"]
    return found


async def test_a_reply_the_customer_thanked_for_is_proposed_redacted(hub: Any, fake_rasa: Any) -> None:
    tess = await hub.login("tess")
    fake_rasa.understood["thanks Ana, that fixed it"] = THANKS
    fake_rasa.understood["thanks. whatever."] = ANGRY_THANKS
    conversation_id = await with_ana(
        hub,
        [
            ("customer", "it drops every ten minutes, my email is marta.silva@example.com"),
            ("agent", FIX),
            ("customer", "thanks Ana, that fixed it"),
            ("agent", "Anything else I can check while I am here?"),
            ("customer", "thanks. whatever."),  # thanks, but angry: that reply did not land
            ("agent", "ok, bye"),  # too short to be a response
            ("customer", "thanks Ana, that fixed it"),
        ],
    )
    [candidate] = await candidates(hub, tess)
    assert candidate["text"] == (
        "[name], I have reset your line from our side; give the router two minutes and it should hold."
    )
    assert candidate["prompt"] == "it drops every ten minutes, my email is [email]"
    assert candidate["reaction"] == "thanks [name], that fixed it"
    assert (candidate["reaction_intent"], candidate["agent"], candidate["worked"]) == ("thank", "ana", 1)
    assert candidate["conversation_id"] == conversation_id and candidate["state"] == "proposed"
    assert "Marta" not in json.dumps(candidate) and "example.com" not in json.dumps(candidate)
    # The hub asked the NLU about both reactions that followed a long enough reply, and changed no tracker.
    parsed = [body["text"] for path, body in fake_rasa.calls if path == "/model/parse"]
    assert parsed == ["thanks Ana, that fixed it", "thanks. whatever."]


async def test_the_same_reply_working_again_counts_on_its_candidate(hub: Any, fake_rasa: Any) -> None:
    tess = await hub.login("tess")
    fake_rasa.understood["great, thank you"] = THANKS
    for end in ("resolve", "handback"):  # a hand back ends the agent's stretch too
        await with_ana(hub, [("customer", "still dropping"), ("agent", FIX), ("customer", "great, thank you")], end)
    [candidate] = await candidates(hub, tess)
    assert candidate["worked"] == 2


async def test_replies_nobody_reacted_to_well_are_not_proposed(hub: Any, fake_rasa: Any) -> None:
    tess = await hub.login("tess")
    fake_rasa.understood["thanks!"] = THANKS
    await with_ana(hub, [("customer", "hello?"), ("agent", FIX), ("customer", "it is still down")])  # report_problem
    await with_ana(hub, [("customer", "hello?"), ("agent", FIX)])  # no reaction at all
    sender, conversation_id = await hub.queued_conversation()  # a stretch that has not ended
    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/messages", headers=ana, json={"text": FIX})
    await hub.say(sender, "thanks!")
    await hub.core.finish_background(timeout=5)
    assert await candidates(hub, tess, "all") == []


async def test_without_collection_or_rasa_no_candidate_and_the_resolve_stands(
    start_hub: Any, make_settings: Any, fake_rasa: Any
) -> None:
    hub = await start_hub(make_settings(CANDOR_REVIEW_INBOX="0"))
    tess = await hub.login("tess")
    fake_rasa.understood["thanks!"] = THANKS
    await with_ana(hub, [("customer", "hello?"), ("agent", FIX), ("customer", "thanks!")])
    assert await candidates(hub, tess, "all") == []
    assert not [path for path, _ in fake_rasa.calls if path == "/model/parse"]

    on = await start_hub(make_settings())

    def rasa_fails() -> None:  # the parse fails: the resolve is done all the same, with no candidate
        fake_rasa.mode = "error"

    turns = [("customer", "hello?"), ("agent", FIX), ("customer", "thanks!")]
    conversation_id = await with_ana(on, turns, before_end=rasa_fails)
    assert (await on.repository.conversation(conversation_id)).state == "closed"
    assert [body["text"] for path, body in fake_rasa.calls if path == "/model/parse"] == ["thanks!"]  # it was asked
    assert await candidates(on, tess, "all") == []


async def test_a_trainer_accepts_with_the_bots_words_or_rejects(hub: Any, fake_rasa: Any) -> None:
    tess, ana = await hub.login("tess"), await hub.login("ana")
    fake_rasa.understood["thanks!"] = THANKS
    await with_ana(hub, [("customer", "hello?"), ("agent", FIX), ("customer", "thanks!")])
    [candidate] = await candidates(hub, tess)
    path = f"/api/trainer/responses/{candidate['id']}"

    async def accept(**body: Any) -> Any:
        return await hub.client.post(f"{path}/accept", headers=tess, json=body)

    refused = await accept(response="utter_line_reset")  # the redacted reply still says [name]
    assert refused.status_code == 400 and "[name] is a redaction placeholder" in refused.json()["error"]
    assert (await accept(response="utter_x", text="Hi {name}, done.")).status_code == 400  # braces fill slots
    assert (await accept(response="line_reset", text="Done.")).status_code == 400  # not a response name
    assert (await accept(response="utter_x", text="   ")).status_code == 400
    said = "I have reset your line from our side. Give the router two minutes and it should hold."
    accepted = await accept(response="utter_line_reset", text=said)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["candidate"] | {"decided_at": None} == candidate | {
        "state": "accepted", "response": "utter_line_reset", "accepted_text": said, "decided_by": "trainer:tess",
        "decided_at": None,
    }  # fmt: skip
    assert (await hub.client.get(path, headers=tess)).json()["candidate"]["state"] == "accepted"
    assert await candidates(hub, tess) == []  # no longer waiting

    rejected = await hub.client.post(f"{path}/reject", headers=tess)
    assert rejected.status_code == 200
    assert rejected.json()["candidate"]["state"] == "rejected" and rejected.json()["candidate"]["response"] is None
    vocabulary = (await hub.client.get("/api/trainer/intents", headers=tess)).json()
    assert "utter_thank" in vocabulary["responses"] and "utter_line_reset" not in vocabulary["responses"]
    actions = [a["action"] for a in await hub.repository.audit_trail(candidate["conversation_id"])]
    assert {"response_proposed", "response_accepted", "response_rejected"} <= set(actions)

    assert (await hub.client.get("/api/trainer/responses/99999", headers=tess)).status_code == 404
    assert (await hub.client.get("/api/trainer/responses", params={"state": "x"}, headers=tess)).status_code == 400
    assert (await hub.client.get("/api/trainer/responses", headers=ana)).status_code == 403  # agents are not trainers
    assert (await hub.client.post(f"{path}/reject", headers=ana)).status_code == 403


def test_the_record_names_the_rules_states() -> None:
    assert get_args(ResponseState) == response_candidates.STATES


async def test_two_proposals_of_one_text_at_once_make_one_candidate(hub: Any) -> None:
    """Two hub processes may propose the same reply at the same moment: one candidate, counted twice."""
    _, conversation_id = await hub.queued_conversation()
    first, second = await hub.repository.add_messages(conversation_id, "agent", [(FIX, {}), (FIX, {})])
    proposals = [
        response_candidates.Proposal(m.id, conversation_id, "ana", FIX, "hello?", "thanks!", "thank")
        for m in (first, second)
    ]
    await asyncio.gather(*(hub.repository.propose_response(p) for p in proposals))
    found, proposed = await hub.repository.response_candidates(None, 0, 10)
    assert proposed == 1 and [c.worked for c in found] == [2]
