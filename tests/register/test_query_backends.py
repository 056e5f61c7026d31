"""The register's query on both backends: keyset pages through ties, timeline times, senders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import Actor, Platform
from bot.register.query import Filters, count, records
from bot.register.senders import recurring_senders
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory
from bot.storage.files import SavedFile
from bot.storage.repos import cases, events, files, senders
from bot.storage.tables import Case
from tests.support.backends import BACKENDS, database_url

SAME_TIME = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
REPORTER = Actor(Platform.SLACK, "U0R", "Rae Porter")


@pytest.fixture(params=BACKENDS)
async def db(
    request: pytest.FixtureRequest, tmp_path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database on each backend."""
    url = database_url(request, tmp_path)
    await migrate.upgrade(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


async def _seed(db: async_sessionmaker[AsyncSession]) -> list[str]:
    ids = []
    async with db.begin() as s:
        for n in range(5):
            data = {"channel": "email", "kind": "abuse", "description": "private"}
            case = await cases.create(
                session=s,
                kind="abuse_report",
                reference=f"AB-2026-{n:04d}",
                state="new",
                reporter=REPORTER,
                data=data,
            )
            ids.append(case.id)
            await events.append(
                session=s,
                case_id=case.id,
                actor_key="slack:U0T",
                actor_name="Tri Age",
                event="acknowledge",
                from_state="new",
                to_state="acknowledged",
            )
            await senders.record(session=s, case_id=case.id, digests=["a" * 64, f"{n}" * 64])
        saved = SavedFile(path="00/00/x", size=1, sha256="0" * 64)
        for _ in range(2):
            await files.record(
                session=s,
                saved=saved,
                name="x.png",
                mime_type="image/png",
                platform="slack",
                case_id=ids[0],
            )
        # Every case made at the very same moment: the keyset must still page through ties.
        await s.execute(update(Case).values(created_at=SAME_TIME))
    return ids


async def test_pages_through_ties_once_each(db: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(db)
    seen = [r async for r in records(db, Filters(kind="abuse_report"), page_size=2)]
    assert [r.id for r in seen] == sorted(ids)
    assert await count(db, Filters(states=("new",))) == 5
    first = next(r for r in seen if r.id == ids[0])
    assert first.evidence_files == 2 and first.answers["channel"] == "email"
    assert first.acknowledged_at is not None and first.acknowledged_at.tzinfo is not None
    assert first.closed_at is None and "description" not in first.answers
    window = (SAME_TIME - timedelta(days=1), SAME_TIME + timedelta(days=1))
    assert await recurring_senders(db, *window) == 1  # only "a…" is in more than one report
    assert [r async for r in records(db, Filters(until=SAME_TIME))] == []
