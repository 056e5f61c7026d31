"""Fixtures for the storage contract tests: one migrated database per test, per backend.

Every test that takes ``engine`` or ``sessions`` runs twice: on a SQLite file in
``tmp_path`` and on a fresh database of the throwaway PostgreSQL server
(``tests.support.postgres``). Same test, same expectations: that is the contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.model import Actor, Platform
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import cases
from tests.support.backends import BACKENDS
from tests.support.backends import database_url as backend_url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database on each backend, not yet migrated."""
    return backend_url(request, tmp_path)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database's engine, disposed after the test."""
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory for the migrated database."""
    return session_factory(engine)


@pytest.fixture
def reporter() -> Actor:
    """A member of staff reporting abuse."""
    return Actor(Platform.SLACK, "U0REPORTER", "Rae Porter", "rae@example.org")


@pytest.fixture
def make_case(
    sessions: async_sessionmaker[AsyncSession], reporter: Actor
) -> Callable[..., Awaitable[cases.CaseRow]]:
    """Create and commit a case; returns its row."""
    counter = iter(range(1, 10_000))

    async def make(kind: str = "abuse_report", state: str = "new") -> cases.CaseRow:
        async with sessions() as session, session.begin():
            return await cases.create(
                session=session,
                kind=kind,
                reference=f"AB-2026-{next(counter):04d}",
                state=state,
                reporter=reporter,
                data={"what": "abusive phone call"},
            )

    return make
