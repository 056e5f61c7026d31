"""Alembic environment: runs migrations on a connection handed over by ``bot.storage.migrate``.

The bot upgrades its own database at start-up (``python -m bot db upgrade``), so the usual
path is programmatic: :func:`bot.storage.migrate.upgrade` opens an async connection and
passes its sync facade in ``config.attributes["connection"]``: on SQLite inside the one
transaction of the whole upgrade, on PostgreSQL outside any transaction, so that each
migration runs in its own (``transaction_per_migration``) and may step out of it. For
developers running the ``alembic`` command (``alembic -c bot/storage/alembic.ini revision
--autogenerate``) the URL comes from ``DATABASE_URL`` or ``sqlalchemy.url`` and an async
engine is created here.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.engine import DEFAULT_URL, create_engine
from bot.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Each migration in a transaction of its own, so one may leave it for DDL that no
        # transaction can hold (0005: CREATE INDEX CONCURRENTLY in an autocommit block). Only
        # where the connection comes without a transaction (PostgreSQL, see migrate.py):
        # on SQLite it comes inside the one BEGIN IMMEDIATE transaction of the whole upgrade.
        transaction_per_migration=True,
    )


def _run(connection: Connection) -> None:
    handed_a_transaction = connection.in_transaction()
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
    if not handed_a_transaction and connection.in_transaction():
        # Whatever Alembic left open (the read of the current revision when there is
        # nothing to migrate, or what follows an autocommit block) is committed here: the
        # caller gets its connection back outside a transaction, nothing written uncommitted.
        connection.commit()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            # No advisory lock here: this path is for a developer's own database.
            async with engine.connect() as connection:
                await connection.run_sync(_run)
        else:
            async with engine.begin() as connection:
                await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    return os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url") or DEFAULT_URL


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    asyncio.run(_run_with_own_engine(_url()))
