"""Processed-event keys, so a retried delivery is handled once.

Slack retries an Events API delivery it thinks failed (same ``event_id``), a proxy may
resend a press, the Bot Framework may deliver an activity again, and any replica may
receive the repeat. Recording the key with ``INSERT … ON CONFLICT DO NOTHING`` is
race-safe: of two concurrent inserts, the database lets exactly one through. Where the
delivery changes something (a press, a draft started), the key is recorded in that change's
own transaction, so a delivery whose change failed left no record and is processed again.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import RepeatedDelivery
from bot.storage.repos._common import dialect_insert, dialect_of
from bot.storage.tables import ProcessedEvent
from bot.storage.types import utcnow


async def record_delivery(*, session: AsyncSession, key: str) -> None:
    """Record a delivery's ``key`` in the caller's transaction, the one making its change.

    A delivery whose change fails is rolled back with it, so it leaves no record and its
    redelivery is processed. "" records nothing.

    Raises:
        RepeatedDelivery: the key was recorded before (that delivery made the change).
    """
    if key and await seen_before(session=session, key=key):
        raise RepeatedDelivery(key)


async def seen_before(*, session: AsyncSession, key: str) -> bool:
    """Record ``key``; True if it was already recorded (the event is a duplicate).

    ``RETURNING`` tells whether this insert added the row, which reads the same on every
    driver (unlike ``rowcount`` for an ``INSERT``).
    """
    statement = _record_statement(dialect_of(session))
    inserted = (await session.execute(statement, {"key": key, "seen_at": utcnow()})).scalar()
    return inserted is None


@functools.cache
def _record_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key``, built once per dialect."""
    statement = dialect_insert(dialect, ProcessedEvent).on_conflict_do_nothing(
        index_elements=["key"]
    )
    return statement.returning(ProcessedEvent.__table__.c.key)


async def forget_older_than(*, session: AsyncSession, cutoff: datetime) -> int:
    """Delete keys seen before ``cutoff`` (retries stop after minutes); returns how many."""
    statement = delete(ProcessedEvent).where(ProcessedEvent.seen_at < cutoff)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
