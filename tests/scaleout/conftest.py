"""Fixtures for the scale-out suite: two ``serve`` replicas on one fresh PostgreSQL database.

Every test here uses ``fresh_postgres_url``, so it is marked ``postgres`` and skipped (with
the reason) where PostgreSQL is not installed. The figures each test measures are printed at
the end of the run, so ``make test`` shows them without ``-s``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.engine import create_engine, session_factory
from tests.e2e import teams_support as teams_people
from tests.scaleout.replicas import Replica, running_replicas, write_pack
from tests.support.fake_slack import FakeSlack

MANAGERS = tuple(f"U0MGR{number:02d}" for number in range(1, 51))
ADMIN = "U0ADMIN"
TRIAGE_CHANNEL = "C0TRIAGE"
_FIGURES = pytest.StashKey[list[tuple[str, dict[str, object]]]]()


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    """The built-in pack with fifty triage managers and an administrator on Slack, and a
    triage manager and an administrator on Teams."""
    return write_pack(
        tmp_path / "pack.yaml",
        triage_manager=[*(f"slack:{user}" for user in MANAGERS), teams_people.MANAGER.identity],
        admin=[f"slack:{ADMIN}", teams_people.ADMIN.identity],
    )


@pytest.fixture
async def replicas(
    fresh_postgres_url: str, fake_slack: FakeSlack, pack_file: Path, tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    """Two replicas started at the same moment on a brand-new database (so they also race
    to migrate it), stopped before the fake Slack they talk to; neither may log an error."""
    async with running_replicas(
        2,
        database_url=fresh_postgres_url,
        fake_slack=fake_slack,
        pack=pack_file,
        workdir=tmp_path,
    ) as started:
        yield started
    for replica in started:
        assert not replica.errors(), f"{replica.name} logged:\n" + "\n".join(replica.errors())


@pytest.fixture
async def db(fresh_postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test's own view of the replicas' database, to check what they stored."""
    engine = create_engine(fresh_postgres_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``figures(operations=50, duplicates=0, …)``: printed now (with ``-s``) and in the
    terminal summary at the end of the run."""

    def record(**values: object) -> None:
        line = ", ".join(f"{key}={value}" for key, value in values.items())
        print(f"\n{request.node.name}: {line}")
        request.config.stash.setdefault(_FIGURES, []).append((request.node.nodeid, values))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line of figures per scale-out test that ran."""
    measured = terminalreporter.config.stash.get(_FIGURES, [])
    if not measured:
        return
    terminalreporter.section("scale-out figures (two replicas, one PostgreSQL)")
    for nodeid, values in measured:
        line = ", ".join(f"{key}={value}" for key, value in values.items())
        terminalreporter.write_line(f"{nodeid.split('::')[-1]}: {line}")
