"""handoff/app.py: errors as JSON (never HTML, never a 500 for bad input), pages (OpenAPI: test_openapi.py)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from test_migrations import legacy_file

from handoff.repository import Repository, create_engine
from handoff.settings import ROOT

STATIC = ROOT / "handoff" / "static"


async def test_health(hub: Any) -> None:
    response = await hub.client.get("/health")
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("content", "word"),
    [
        (b"", "JSON body"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "s1-0123456789abcdef"}', "message"),
        (b'{"sender": 12, "message": "hi"}', "sender"),
        (b'{"sender": "s1-0123456789abcdef", "message": ["hi"]}', "message"),
        (b'{"sender": "s1-0123456789abcdef", "message": ""}', "message"),
        (b'{"sender": "a b/c", "message": "hi"}', "sender"),
        (b'{"sender": "s1-0123456789abcdef", "message": "hi", "metadata": "C-1001"}', "metadata"),
    ],
)
async def test_bad_webhook_bodies_are_400_and_store_nothing(
    hub: Any, fake_rasa: Any, content: bytes, word: str
) -> None:
    before = await hub.repository.counts()
    response = await hub.client.post(
        "/webhooks/rest/webhook", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert word in response.json()["error"]
    assert await hub.repository.counts() == before and fake_rasa.calls == []


async def test_too_long_message_is_400(hub: Any) -> None:
    response = await hub.client.post(
        "/webhooks/rest/webhook", json={"sender": "s1-0123456789abcdef", "message": "x" * 4001}
    )
    assert response.status_code == 400 and "4000" in response.json()["error"]


async def test_a_huge_body_is_413_json_and_changes_nothing(hub: Any, fake_rasa: Any) -> None:
    sender = str(uuid.uuid4())
    await hub.say(sender, "hi")
    before = await hub.repository.counts()
    response = await hub.client.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": "x", "metadata": {"blob": "y" * 70_000}}
    )
    assert response.status_code == 413
    assert "error" in response.json()
    assert await hub.repository.counts() == before
    assert len(fake_rasa.calls) == 1


async def test_unknown_routes_and_methods_answer_json(hub: Any) -> None:
    missing = await hub.client.get("/no/such/page")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = await hub.client.get("/webhooks/rest/webhook")
    assert wrong.status_code == 405 and "error" in wrong.json()
    not_an_id = await hub.client.get("/api/agent/conversations/abc", headers=await hub.login("ana"))
    assert not_an_id.status_code == 404 and "error" in not_an_id.json()


async def test_pages(hub: Any) -> None:
    for path, title in [("/", "Candor chat"), ("/console", "Candor agent console")]:
        response = await hub.client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert f"<title>{title}</title>" in response.text


def test_pages_never_render_text_as_html() -> None:
    for page in ("index.html", "console.html"):
        source = (STATIC / page).read_text()
        assert "innerHTML" not in source and "outerHTML" not in source and "insertAdjacentHTML" not in source
        assert "textContent" in source


@pytest.mark.sqlite_only("edits a SQLite file into an older hub's")
async def test_a_database_from_an_older_hub_is_refused_naming_what_it_lacks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    legacy_file(path)  # what the hub's create_all made before migrations
    with sqlite3.connect(path) as old:  # as a hub from before incidents.group_key and alerts made it
        old.execute("DROP INDEX ix_incidents_group_key")
        old.execute("DROP INDEX uq_incidents_open_group")
        old.execute("ALTER TABLE incidents DROP COLUMN group_key")
        old.execute("DROP TABLE alerts")
    again = Repository(create_engine(f"sqlite+aiosqlite:///{path}"))
    try:
        with pytest.raises(RuntimeError, match=r"lacks incidents\.group_key; remove it \(`make clean`"):
            await again.migrate()
    finally:
        await again.engine.dispose()
    with sqlite3.connect(path) as refused:  # and left as it was
        left = {name for (name,) in refused.execute("SELECT name FROM sqlite_master")}
        assert "alerts" not in left and "alembic_version" not in left  # not created, not stamped
