"""Alembic's environment: migrations on the connection handoff.migrations gives, or, from the `alembic`
command line, on CANDOR_DATABASE_URL (default: the demo SQLite file), through the hub's own engine.

Batch operations are rendered always (render_as_batch): on SQLite, which cannot alter most of a table,
they copy it; on PostgreSQL they are plain ALTERs, so one revision serves both databases.
"""

from __future__ import annotations

import asyncio
import logging

from alembic import context
from sqlalchemy.engine import Connection

from handoff import migrations, models
from handoff.repository import create_engine


def run(connection: Connection) -> None:
    """Migrate (or autogenerate) on `connection`, inside the transaction migrations.exclusive holds."""
    migrations.adopt(connection)
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():  # a no-op here: the caller's transaction is the migration's
        context.run_migrations()


def run_on_connection(connection: Connection) -> None:
    with migrations.exclusive(connection):
        run(connection)


async def run_from_command_line() -> None:
    engine = create_engine(migrations.database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on_connection)
    finally:
        await engine.dispose()


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    context.configure(url=migrations.database_url(), target_metadata=models.Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if isinstance(given, Connection):
    run(given)  # from handoff.migrations.upgrade/downgrade: already locked
elif context.is_offline_mode():
    run_offline()
else:
    logging.basicConfig(format="%(message)s")
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)  # "Running upgrade ..."
    asyncio.run(run_from_command_line())
