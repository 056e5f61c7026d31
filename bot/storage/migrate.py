"""Bring a database to the newest schema, and tell whether it is there.

The bot migrates its own database (``python -m bot db upgrade``, or at start-up) so an
operator never needs the ``alembic`` command or an ``alembic.ini``: the Alembic config is
built here in code. :func:`upgrade` is safe to run again and again, and from several
replicas at once: on PostgreSQL the whole upgrade runs in one transaction holding an
advisory lock, on SQLite in one ``BEGIN IMMEDIATE`` transaction (see ``engine.py``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every replica ("bot" "migr" in ASCII).
_ADVISORY_LOCK_KEY = 0x626F74_6D696772


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
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two replicas starting together: the second waits, then finds nothing to do.
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await connection.execute(lock, {"key": _ADVISORY_LOCK_KEY})
            await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


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
