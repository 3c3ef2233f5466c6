"""The hub's schema migrations (Alembic): env.py, versions/, and what runs them.

The hub calls `upgrade` at every start (handoff.repository.Repository.migrate), `python -m handoff.cli
db-upgrade` calls it from a shell, and the `alembic` command line (configured in pyproject.toml, section
tool.alembic) runs the same env.py. Every run, from any of them:

- is one transaction that holds the database's write lock from its first statement (SQLite: BEGIN
  IMMEDIATE, from handoff.repository.create_engine; PostgreSQL: a transaction-scoped advisory lock), so
  hubs starting together migrate one after the other and the later ones find nothing to do;
- first adopts a database made by `metadata.create_all` before migrations existed: it is stamped at the
  baseline revision and keeps its data, or, if it lacks a baseline column, refused naming what it lacks;
- when it goes to head, ends by checking that the database has every table and column of handoff.models:
  a model changed without a revision is refused at start, not by the first query that needs the change.

Alembic is configured here in code, so nothing depends on the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection

from handoff import models
from handoff.migrations import baseline
from handoff.settings import default_database_url

__all__ = [
    "BASELINE",
    "MigrationError",
    "OutdatedDatabase",
    "Revisions",
    "adopt",
    "alembic_config",
    "current_revision",
    "database_url",
    "downgrade",
    "exclusive",
    "head_revision",
    "lacking",
    "upgrade",
]

HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # versions/0001_baseline.py: the schema create_all made before migrations (baseline.py)
VERSION_TABLE = "alembic_version"
POSTGRESQL_LOCK = 0x63616E646F72  # pg_advisory_xact_lock key of the migrations ("candor" in ASCII)


class MigrationError(RuntimeError):
    """The schema was not brought up to date (the transaction rolled back: nothing changed); the message says why."""


class OutdatedDatabase(MigrationError):
    """A database from before migrations that lacks a column of the baseline: no revision can bring it up."""


def database_url(env: Mapping[str, str] | None = None) -> str:
    """CANDOR_DATABASE_URL, or the demo SQLite file (as handoff.settings.Settings reads it)."""
    env = os.environ if env is None else env
    return env.get("CANDOR_DATABASE_URL") or default_database_url()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, without an ini file; with `connection`, env.py migrates on it."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {HERE / 'versions'}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The database's revision (None: never migrated; heads joined by commas if history ever branches)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(sorted(heads)) or None


@contextmanager
def exclusive(connection: Connection) -> Iterator[str | None]:
    """One transaction on `connection` (begun here) holding the database's write lock from its start; yields
    the database's revision then.

    On SQLite: the connection comes from handoff.repository.create_engine, whose transactions begin
    IMMEDIATE (they wait, up to the busy timeout, for the write lock). Foreign keys are off meanwhile, as
    SQLite's own recipe for schema changes says (a batch migration copies a table, drops the old one and
    renames the copy; with them on, dropping a referenced table would fail or cascade), and checked
    before committing if the revision changed. PRAGMA foreign_keys is a no-op inside a transaction, so it
    is switched on the bare connection before BEGIN and after COMMIT.

    The lock also keeps migrations in one process apart, which matters: Alembic's `context` and `op` are
    process-wide, and two migrations interleaving on one event loop would share them.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRESQL_LOCK})
            before = current_revision(connection)
            yield before
            if sqlite and current_revision(connection) != before:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise MigrationError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
    finally:
        if sqlite and not connection.invalidated:
            _pragma(connection, "PRAGMA foreign_keys=ON")


def _where(connection: Connection) -> str:
    return connection.engine.url.render_as_string(hide_password=True)


def _pragma(connection: Connection, statement: str) -> None:
    """Run `statement` on the driver's connection, outside any transaction."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def lacking(connection: Connection, metadata: MetaData) -> tuple[list[str], list[str]]:
    """The tables of `metadata` the database lacks, and table.column of every column its other tables lack."""
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    tables, columns = [], []
    for table in metadata.sorted_tables:
        if table.name not in existing:
            tables.append(table.name)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        columns += [f"{table.name}.{column.name}" for column in table.columns if column.name not in present]
    return tables, columns


def adopt(connection: Connection) -> None:
    """Stamp a database made before migrations at the baseline, or refuse it naming what it lacks.

    Such a database has the hub's tables and no alembic_version table. If its tables have every baseline
    column, the baseline tables it lacks are created (as create_all did at every start then) and it is
    stamped BASELINE: its data stays, and later revisions apply to it. Run inside `exclusive`.
    """
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables or not tables & set(baseline.metadata.tables):
        return
    _, missing = lacking(connection, baseline.metadata)
    if missing:
        raise OutdatedDatabase(
            f"the database {_where(connection)} was made by an older version of the hub, from before migrations, "
            f"and lacks {', '.join(missing)}; remove it (`make clean` for the demo database) or add what it lacks "
            f"by hand and start again: it is then adopted at revision {BASELINE}"
        )
    baseline.metadata.create_all(connection)  # checkfirst: only the tables it lacks
    script = ScriptDirectory.from_config(alembic_config())
    MigrationContext.configure(connection).stamp(script, BASELINE)


class Revisions(NamedTuple):
    """A database's revision before and after a migration (None: none, no tables of the hub's)."""

    before: str | None
    after: str | None


def upgrade(connection: Connection, revision: str = "head") -> Revisions:
    """Migrate the database up to `revision` in one locked transaction (`exclusive`).

    `connection` must not be in a transaction; on SQLite it must come from handoff.repository.create_engine.
    """
    with exclusive(connection) as before:
        command.upgrade(alembic_config(connection), revision)  # env.py adopts a database from before
        if revision == "head":
            # Models changed without a revision: refused here, not by the first query that needs the change.
            tables, columns = lacking(connection, models.Base.metadata)
            if tables or columns:
                raise MigrationError(
                    f"the database {_where(connection)} is at the newest revision, {current_revision(connection)}, "
                    f"but lacks {', '.join([*(f'table {t}' for t in tables), *columns])}: handoff/models.py has "
                    'what no revision makes; write one (handoff/README.md, "Schema and migrations")'
                )
        return Revisions(before, current_revision(connection))


def downgrade(connection: Connection, revision: str) -> Revisions:
    """Migrate the database down to `revision` ("base": no tables) like `upgrade`."""
    with exclusive(connection) as before:
        command.downgrade(alembic_config(connection), revision)
        return Revisions(before, current_revision(connection))
