"""handoff/migrations: Alembic revisions, applied at every start, adopting databases made before them.

On real databases: a SQLite file per test and, with CANDOR_TEST_POSTGRES_URL, a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url

from handoff import migrations, models
from handoff.migrations import baseline
from handoff.repository import Repository, create_engine
from handoff.settings import ROOT

HEAD = migrations.head_revision()
ALEMBIC = Path(sys.executable).parent / "alembic"


def model_diff(connection: Connection) -> list[Any]:
    """What autogenerate would write to bring the database to handoff.models (nothing: they agree)."""
    return list(compare_metadata(MigrationContext.configure(connection), models.Base.metadata))


async def on_store(database_url: str, work: Callable[[Connection], Any]) -> Any:
    """Run `work` on a connection of the hub's own engine (outside a transaction)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def migrate(database_url: str) -> str | None:
    repository = Repository(create_engine(database_url))
    try:
        return await repository.migrate()
    finally:
        await repository.engine.dispose()


def sqlite_path(database_url: str) -> Path:
    return Path(str(make_url(database_url).database))


def legacy_file(path: Path) -> None:
    """A database as the hub made it before migrations: create_all, no alembic_version."""
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        baseline.metadata.create_all(engine)
    finally:
        engine.dispose()


def schema(path: Path) -> list[tuple[str, str, str | None]]:
    """The file's tables and indexes as SQLite stores them (their CREATE statements), bar alembic's own. The
    lines of a statement are sorted: a table a revision copied (batch mode) lists its constraints in another
    order, which means the same."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version'")
        return sorted((kind, name, _lines(sql)) for kind, name, sql in rows.fetchall())


def _lines(sql: str | None) -> str | None:
    return None if sql is None else "\n".join(sorted(line.strip().rstrip(",") for line in sql.splitlines()))


def versions(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [version for (version,) in db.execute("SELECT version_num FROM alembic_version")]


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    environment["CANDOR_DATABASE_URL"] = database_url  # and no CANDOR_SERVICE_TOKEN: db-upgrade needs none
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "handoff.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT / "handoff" / "static",  # another folder: Alembic's configuration does not depend on it
        env=environment,
        timeout=60,
        check=False,
    )


# A new database ---------------------------------------------------------------------------------------


async def test_an_empty_database_is_migrated_to_head_and_matches_the_models(database_url: str) -> None:
    assert await migrate(database_url) == HEAD
    assert await on_store(database_url, model_diff) == []
    assert await on_store(database_url, migrations.current_revision) == HEAD
    assert await migrate(database_url) == HEAD  # again: nothing to do


async def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    await migrate(database_url)
    assert await on_store(database_url, lambda c: migrations.downgrade(c, "base")) == (HEAD, None)
    left = await on_store(database_url, lambda c: set(sqlalchemy.inspect(c).get_table_names()))
    assert left <= {migrations.VERSION_TABLE}
    assert await on_store(database_url, migrations.upgrade) == (None, HEAD)
    assert await on_store(database_url, model_diff) == []


async def test_hubs_migrating_one_database_at_once_do_it_once(database_url: str) -> None:
    # Four engines (as four hubs would have); the write lock makes them migrate one after the other.
    revisions = await asyncio.gather(*(migrate(database_url) for _ in range(4)))
    assert revisions == [HEAD] * 4
    assert await on_store(database_url, model_diff) == []


def test_db_upgrade_migrates_and_says_to_which_revision(database_url: str) -> None:
    first = run_cli("db-upgrade", database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert f"migrated from revision none to {HEAD}" in first.stdout
    again = run_cli("db-upgrade", database_url=database_url)
    assert again.returncode == 0, again.stderr
    assert f"at revision {HEAD} (the newest), nothing to do" in again.stdout


# A database from before migrations ------------------------------------------------------------------


@pytest.mark.sqlite_only("a file made by the old hub's create_all")
async def test_a_database_from_before_migrations_is_adopted_and_keeps_its_data(
    database_url: str, start_hub: Callable[..., Any], make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    path = sqlite_path(database_url)
    legacy_file(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "INSERT INTO agents (username, display_name, password_hash, created_at) "
            "VALUES ('old-timer', 'Old Timer', 'x', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO conversations (sender, state, created_at, updated_at) "
            "VALUES ('before-migrations', 'bot', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO messages (conversation_id, role, text, extra, created_at) "
            "VALUES (1, 'customer', 'still here?', '{}', '2026-01-01 00:00:00')"
        )

    hub = await start_hub(make_settings())
    assert (await hub.client.get("/health")).status_code == 200

    assert versions(path) == [HEAD]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT text FROM messages").fetchall() == [("still here?",)]
        assert ("old-timer",) in db.execute("SELECT username FROM agents").fetchall()
    # exactly the schema a new database gets
    fresh = tmp_path / "fresh.db"
    await migrate(f"sqlite+aiosqlite:///{fresh}")
    assert schema(path) == schema(fresh)
    assert await on_store(database_url, model_diff) == []


@pytest.mark.sqlite_only("a file made by the old hub's create_all")
async def test_a_database_from_before_a_table_existed_gets_it_as_create_all_gave_it(database_url: str) -> None:
    path = sqlite_path(database_url)
    legacy_file(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("DROP TABLE alerts")  # every column of the other tables, one table short
    assert await migrate(database_url) == HEAD
    assert "alerts" in await on_store(database_url, lambda c: sqlalchemy.inspect(c).get_table_names())
    assert await on_store(database_url, model_diff) == []


@pytest.mark.sqlite_only("a file made by the old hub's create_all")
def test_a_database_from_before_a_column_existed_is_refused_naming_it_and_left_alone(database_url: str) -> None:
    path = sqlite_path(database_url)
    legacy_file(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("ALTER TABLE escalations DROP COLUMN trajectory")
    before = schema(path)

    refused = run_cli("db-upgrade", database_url=database_url)
    assert refused.returncode == 1
    assert "lacks escalations.trajectory; remove it (`make clean` for the demo database)" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert schema(path) == before  # nothing created, not stamped
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchall() == []


@pytest.mark.sqlite_only("changes the file behind the hub's back")
async def test_models_ahead_of_the_revisions_are_refused_at_start(database_url: str) -> None:
    await migrate(database_url)
    with closing(sqlite3.connect(sqlite_path(database_url))) as db, db:  # as if models.py had gained a column
        db.execute("ALTER TABLE audit DROP COLUMN detail")
    with pytest.raises(migrations.MigrationError, match=r"at the newest revision, .* but lacks audit\.detail"):
        await migrate(database_url)


# Revisions after the baseline ----------------------------------------------------------------------


LATER = '''"""A later revision: one column dropped from a table others reference, one added.

Revision ID: {rev}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_index("uq_incidents_open_group")
        batch_op.drop_index("ix_incidents_group_key")
        batch_op.drop_column("group_key")
        batch_op.add_column(sa.Column("owner", sa.String(100), nullable=True))


def downgrade() -> None:
    pass
'''


@pytest.mark.sqlite_only("SQLite copies a table to drop a column (batch), with foreign keys off")
async def test_a_later_revision_copying_a_referenced_table_keeps_the_rows_that_reference_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sqlite_path(database_url)
    legacy_file(path)  # adopted at the baseline, then migrated on: the path an old demo file takes
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute(
            "INSERT INTO incidents (id, title, status, severity, services, regions, started_at, facts, group_key) "
            "VALUES ('INC-1', 'Outage', 'investigating', 'major', '[]', '[]', '2026-01-01 00:00:00', '{}', 'g')"
        )
        db.execute(
            "INSERT INTO alerts (fingerprint, starts_at, incident_id, status, labels) "
            "VALUES ('f1', '2026-01-01 00:00:00', 'INC-1', 'firing', '{}')"
        )
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.HERE, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    later = f"{int(HEAD) + 1:04d}"
    (scripts / "versions" / f"{later}_later.py").write_text(LATER.format(rev=later, down=HEAD))
    monkeypatch.setattr(migrations, "HERE", scripts)

    engine = create_engine(database_url)
    try:
        # The models lack `owner`: upgrading to that revision (not "head") does not check them.
        async with engine.connect() as connection:
            assert await connection.run_sync(lambda c: migrations.upgrade(c, later)) == (None, later)
        async with engine.connect() as connection:  # the same pooled connection: foreign keys on again
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            await connection.rollback()
    finally:
        await engine.dispose()
    with closing(sqlite3.connect(path)) as db:
        columns = [name for (_, name, *_) in db.execute("PRAGMA table_info(incidents)")]
        assert "owner" in columns and "group_key" not in columns
        assert db.execute("SELECT id, title FROM incidents").fetchall() == [("INC-1", "Outage")]
        assert db.execute("SELECT fingerprint, incident_id FROM alerts").fetchall() == [("f1", "INC-1")]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


# The alembic command line ----------------------------------------------------------------------------


@pytest.mark.sqlite_only("the command line's own run, once")
async def test_alembic_command_line_from_the_repository_root_finds_nothing_to_generate(database_url: str) -> None:
    await migrate(database_url)
    result = await asyncio.to_thread(
        subprocess.run,
        [str(ALEMBIC), "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CANDOR_DATABASE_URL": database_url},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout
