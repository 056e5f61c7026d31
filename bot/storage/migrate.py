"""Bring a database to the newest schema, and tell whether it is there.

The bot migrates its own database (``python -m bot db upgrade``, or at start-up) so an
operator never needs the ``alembic`` command or an ``alembic.ini``: the Alembic config is
built here in code. :func:`upgrade` is safe to run again and again, and from several
replicas at once:

* on SQLite the whole upgrade runs in one ``BEGIN IMMEDIATE`` transaction (``engine.py``);
* on PostgreSQL each migration runs in a transaction of its own (``env.py``), so that one
  may step out of it for DDL no transaction can hold (``CREATE INDEX CONCURRENTLY``, 0005).
  Replicas take turns through a session-level advisory lock, held on the migrating
  connection from before the first migration until after the last. A replica waiting for
  the lock polls for it with ``pg_try_advisory_lock`` instead of blocking in
  ``pg_advisory_lock``: a statement blocked there holds a snapshot, a concurrent index
  build waits for every older snapshot to go, and the lock is held by the very connection
  building the index. PostgreSQL breaks that deadlock by failing one side: the waiting
  replica's start-up, or the build, which leaves an INVALID index behind (see 0005). With a
  blocking ``pg_advisory_lock`` the test of four upgrades started together
  (``tests/scaleout/test_races.py``) would deadlock so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.engine import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every replica ("bot" "migr" in ASCII).
_ADVISORY_LOCK_KEY = 0x626F74_6D696772
_KEY = {"key": _ADVISORY_LOCK_KEY}
_LOCK_POLL_SECONDS = 0.2  # how often a replica waiting for another's migrations looks again


def alembic_config() -> Config:
    """An Alembic config pointing at the bundled migrations; no ini file involved."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def head_revisions() -> set[str]:
    """The revision ids the code expects the database to be at."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade(url: str, revision: str = "head") -> None:
    """Run ``alembic upgrade`` on the database at ``url``.

    Args:
        url: the database URL, as for :func:`bot.storage.engine.create_engine`.
        revision: the target; ``"head"`` (the newest) unless testing a migration.
    """
    await _migrate(url, command.upgrade, revision)


async def downgrade(url: str, revision: str) -> None:
    """Run ``alembic downgrade`` on the database at ``url``, taking turns like :func:`upgrade`.

    Args:
        url: the database URL, as for :func:`bot.storage.engine.create_engine`.
        revision: the revision to go back to, e.g. ``"0004"``.
    """
    await _migrate(url, command.downgrade, revision)


async def _migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    engine = create_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            async with engine.begin() as connection:
                await connection.run_sync(_run, step, revision)
            return
        async with engine.connect() as connection:
            await _take_turn(connection)
            # Not in a transaction now: Alembic opens one per migration (see env.py).
            await connection.run_sync(_run, step, revision)
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), _KEY)
            await connection.commit()
        # On an error the lock goes with the connection, which engine.dispose() closes.
    finally:
        await engine.dispose()


async def _take_turn(connection: AsyncConnection) -> None:
    """Take the session-level migration lock, polling in short transactions (see above)."""
    while True:
        taken = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), _KEY)
        await connection.commit()  # no snapshot held while waiting
        if taken:
            return
        await asyncio.sleep(_LOCK_POLL_SECONDS)


def _run(connection: Connection, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    step(config, revision)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """The revision ids recorded in the database (empty before the first upgrade)."""
    async with engine.connect() as connection:
        heads = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_heads()
        )
    return set(heads)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is reachable and at the newest revision (for ``/readyz``).

    An unreachable database counts as not current rather than raising, so a readiness
    probe can answer 503 without its own error handling.
    """
    try:
        current = await current_revisions(engine)
    except (SQLAlchemyError, OSError):
        return False
    return current == head_revisions()
