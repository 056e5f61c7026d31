"""Opening the database and the policy pack for a register command, and telling times.

Every command here reads ``DATABASE_URL`` and the pack like the bot does, refuses to create
an empty SQLite file by mistake, and shows times in the organisation's time zone.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.export.cli import _missing_sqlite_file
from bot.policy import PolicyPack


class NoDatabase(RuntimeError):
    """``DATABASE_URL`` names a SQLite file that does not exist."""


@dataclass(frozen=True)
class Context:
    """What a register command works with."""

    settings: Settings
    pack: PolicyPack
    db: async_sessionmaker[AsyncSession]

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone."""
        return ZoneInfo(self.pack.organisation.time_zone)


@asynccontextmanager
async def open_context(settings: Settings | None = None) -> AsyncIterator[Context]:
    """Settings, pack and a session factory; the engine is disposed on the way out.

    Raises:
        NoDatabase: when the SQLite database file is missing (it is not created empty).
    """
    from bot.app import load_policy
    from bot.storage.engine import create_engine, session_factory

    settings = settings or Settings()
    pack = load_policy(settings)
    missing = _missing_sqlite_file(settings.database_url)
    if missing:
        raise NoDatabase(f"No database at {missing} (set DATABASE_URL).")
    engine = create_engine(settings.database_url, cipher=settings.data_cipher())
    try:
        yield Context(settings=settings, pack=pack, db=session_factory(engine))
    finally:
        await engine.dispose()


def iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """An aware time as ISO 8601 in ``zone`` (with its offset), or ``None``."""
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None


def fail(message: str) -> int:
    """Print ``message`` on standard error and return exit code 1."""
    print(message, file=sys.stderr)
    return 1
