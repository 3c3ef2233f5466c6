"""The audit trail over HTTP, for supervisors: who did what and when (GET /api/agent/audit)."""

from __future__ import annotations

from typing import Any

import pytest


async def test_a_supervisor_reads_every_state_change_of_a_conversation_with_who_and_when(hub: Any) -> None:
    sender, conversation_id = await hub.queued_conversation()
    ana = await hub.login("ana")
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=ana)
    await hub.client.post(f"/api/agent/conversations/{conversation_id}/resolve", json={"reason": "fixed"}, headers=ana)
    ben = await hub.login("ben")  # the seed's supervisor

    response = await hub.client.get("/api/agent/audit", params={"conversation_id": conversation_id}, headers=ben)
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["actor"], e["action"]) for e in entries] == [
        (f"customer:{sender}", "conversation_started"),
        ("bot", "escalated"),
        ("agent:ana", "claimed"),
        ("agent:ana", "resolved"),
    ]
    assert all(e["at"] and e["conversation_id"] == conversation_id for e in entries)
    assert entries[-1]["detail"] == {"reason": "fixed"}

    after = entries[1]["id"]
    page = await hub.client.get(
        "/api/agent/audit", params={"conversation_id": conversation_id, "after": after, "limit": 1}, headers=ben
    )
    assert [e["action"] for e in page.json()["entries"]] == ["claimed"]
    everything = (await hub.client.get("/api/agent/audit", params={"limit": 500}, headers=ben)).json()["entries"]
    assert {"login", "seed_loaded", "presence_changed"} <= {e["action"] for e in everything}


async def test_agents_who_are_not_supervisors_are_refused(hub: Any) -> None:
    ana = await hub.login("ana")
    response = await hub.client.get("/api/agent/audit", headers=ana)
    assert response.status_code == 403 and "supervisors" in response.json()["error"]
    assert (await hub.client.get("/api/agent/audit")).status_code == 401


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "501"}, {"after": "x"}, {"conversation_id": "-1"}])
async def test_bad_paging_is_refused(hub: Any, params: dict[str, str]) -> None:
    ben = await hub.login("ben")
    response = await hub.client.get("/api/agent/audit", params=params, headers=ben)
    assert response.status_code == 400
