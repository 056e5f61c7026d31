"""The outbox: dedupe, claims that never overlap, lease expiry, and finishing a delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import outbox

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET = {"platform": "slack", "conversation_id": "C0TRIAGE"}
CARD = {"title": "New report", "blocks": []}


async def _enqueue(
    sessions: Sessions, count: int, *, not_before: datetime = NOW, dedupe_key: str | None = None
) -> list[int]:
    ids = []
    async with sessions() as session, session.begin():
        for _ in range(count):
            row = await outbox.enqueue(
                session=session,
                platform="slack",
                operation="post",
                target=TARGET,
                card=CARD,
                not_before=not_before,
                dedupe_key=dedupe_key,
            )
            assert row is not None
            ids.append(row.id)
    return ids


async def _claim(sessions: Sessions, worker: str, *, now: datetime = NOW, limit: int = 10) -> list:
    async with sessions() as session, session.begin():
        return await outbox.claim_due(
            session=session, now=now, worker_id=worker, limit=limit, lease_seconds=60
        )


async def test_enqueue_with_a_dedupe_key_is_once(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        first = await outbox.enqueue(
            session=session,
            platform="slack",
            operation="update",
            target={"conversation": TARGET, "message_id": "1.1"},
            card=CARD,
            case_id=None,
            card_purpose="triage",
            dedupe_key="case:1:v2:triage",
        )
        second = await outbox.enqueue(
            session=session,
            platform="slack",
            operation="update",
            target={"conversation": TARGET, "message_id": "1.1"},
            card={"title": "other"},
            dedupe_key="case:1:v2:triage",
        )
        assert await outbox.pending_count(session=session) == 1
    assert first is not None and second is None
    assert (first.status, first.attempts, first.card_purpose) == ("pending", 0, "triage")
    assert first.next_attempt_at.tzinfo is not None


async def test_unknown_operation_is_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError):
            await outbox.enqueue(
                session=session, platform="slack", operation="shout", target=TARGET, card=CARD
            )


async def test_claim_takes_due_rows_only_once(sessions: Sessions) -> None:
    ids = await _enqueue(sessions, 3)
    later = await _enqueue(sessions, 1, not_before=NOW + timedelta(seconds=30))
    claimed = await _claim(sessions, "worker-a")
    assert [row.id for row in claimed] == ids
    assert all(row.claimed_by == "worker-a" and row.attempts == 1 for row in claimed)
    assert claimed[0].claimed_until == NOW + timedelta(seconds=60)
    assert await _claim(sessions, "worker-b") == []  # still leased
    # 30 s on: the later row is due, the first three are still leased to worker-a.
    assert [row.id for row in await _claim(sessions, "b", now=NOW + timedelta(seconds=30))] == later


async def test_concurrent_claimers_never_share_a_row(sessions: Sessions) -> None:
    ids = await _enqueue(sessions, 40)
    batches = await asyncio.gather(*(_claim(sessions, f"w{n}", limit=7) for n in range(6)))
    claimed = [row.id for batch in batches for row in batch]
    assert len(claimed) == len(set(claimed)) == 40
    assert sorted(claimed) == ids


@pytest.fixture
async def postgres_sessions(
    postgres_database_factory: Callable[[], str],
) -> AsyncIterator[Sessions]:
    """A migrated PostgreSQL database only, for behaviour SQLite cannot have."""
    url = postgres_database_factory()
    await migrate.upgrade(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


async def test_open_claim_is_skipped_not_waited_for_on_postgresql(
    postgres_sessions: Sessions,
) -> None:
    """FOR UPDATE SKIP LOCKED: while one worker's claim is uncommitted, another takes others.

    (SQLite has one writer at a time, so there the concurrent-claimers test above is the
    whole story.)
    """
    sessions = postgres_sessions
    await _enqueue(sessions, 4)
    async with sessions() as first, first.begin(), sessions() as second, second.begin():
        mine = await outbox.claim_due(
            session=first, now=NOW, worker_id="a", limit=2, lease_seconds=60
        )
        theirs = await asyncio.wait_for(
            outbox.claim_due(session=second, now=NOW, worker_id="b", limit=4, lease_seconds=60),
            timeout=5,
        )
    assert len(mine) == 2 and len(theirs) == 2
    assert not {row.id for row in mine} & {row.id for row in theirs}


async def test_expired_lease_makes_a_row_claimable_again(sessions: Sessions) -> None:
    (row_id,) = await _enqueue(sessions, 1)
    (first,) = await _claim(sessions, "crashed-worker")
    assert await _claim(sessions, "other", now=NOW + timedelta(seconds=59)) == []
    (again,) = await _claim(sessions, "other", now=NOW + timedelta(seconds=61))
    assert again.id == first.id == row_id
    assert (again.claimed_by, again.attempts) == ("other", 2)


async def test_mark_sent_retry_and_dead(sessions: Sessions) -> None:
    sent_id, retry_id, dead_id = await _enqueue(sessions, 3)
    await _claim(sessions, "w")
    async with sessions() as session, session.begin():
        assert await outbox.mark_sent(session=session, outbox_id=sent_id, message_id="1712.0001")
        assert not await outbox.mark_sent(session=session, outbox_id=sent_id, message_id="x")
        assert await outbox.mark_retry(
            session=session,
            outbox_id=retry_id,
            next_attempt_at=NOW + timedelta(seconds=30),
            error="429 rate limited",
        )
        assert await outbox.mark_dead(session=session, outbox_id=dead_id, error="channel_not_found")
        assert await outbox.pending_count(session=session) == 1
        sent = await outbox.get(session=session, outbox_id=sent_id)
        retry = await outbox.get(session=session, outbox_id=retry_id)
        dead = await outbox.get(session=session, outbox_id=dead_id)
    assert sent is not None and retry is not None and dead is not None
    assert (sent.status, sent.message_id, sent.claimed_by) == ("sent", "1712.0001", None)
    assert sent.sent_at is not None and sent.sent_at.tzinfo is not None
    assert (retry.status, retry.last_error, retry.claimed_until) == (
        "pending",
        "429 rate limited",
        None,
    )
    assert (dead.status, dead.last_error) == ("dead", "channel_not_found")
    # The retried row is not due yet, then it is, and its attempts keep counting.
    assert await _claim(sessions, "w", now=NOW + timedelta(seconds=29)) == []
    (again,) = await _claim(sessions, "w", now=NOW + timedelta(seconds=30))
    assert (again.id, again.attempts) == (retry_id, 2)
