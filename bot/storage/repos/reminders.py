"""Reminders: things to do at a time, fired once even with several replicas.

Check-ins with a reporter, nudges about unacknowledged reports and the weekly monitoring
of approved pages are rows with a due time. A scheduler claims due rows with a lease, the
same way as the outbox, acts, and marks them fired. Each reminder has a ``dedupe_key``
(e.g. ``"check_in:<case id>"``): scheduling the same key again moves a pending reminder
instead of adding a second one.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos import _common
from bot.storage.repos._common import dialect_insert, dialect_of, to_row
from bot.storage.tables import Reminder
from bot.storage.types import utcnow

PENDING = "pending"
FIRED = "fired"
CANCELLED = "cancelled"


_REMINDERS = cast(Table, Reminder.__table__)
# Plain Core, built once (keeping in touch schedules and cancels on every press).
_BY_KEY = select(_REMINDERS).where(_REMINDERS.c.dedupe_key == bindparam("dedupe_key"))


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """A reminder; ``subject`` carries what the handler needs (ids, never message text)."""

    id: int
    kind: str
    case_id: str | None
    subject: dict[str, Any]
    due_at: datetime
    status: str
    dedupe_key: str
    claimed_by: str | None
    claimed_until: datetime | None
    fired_at: datetime | None
    created_at: datetime


async def schedule(
    *,
    session: AsyncSession,
    kind: str,
    due_at: datetime,
    dedupe_key: str,
    case_id: str | None = None,
    subject: dict[str, Any] | None = None,
) -> ReminderRow:
    """Schedule a reminder, or move the pending one with the same ``dedupe_key`` to ``due_at``.

    A reminder already fired or cancelled is left as it is (so it fires only once), and
    returned unchanged: check ``status`` if that matters.
    """
    values = {
        "kind": kind,
        "case_id": case_id,
        "subject": subject or {},
        "due_at": due_at,
        "status": PENDING,
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    row = (await session.execute(_schedule_statement(dialect_of(session)), values)).first()
    if row is None:  # fired or cancelled already: left as it is
        row = (await session.execute(_BY_KEY, {"dedupe_key": dedupe_key})).first()
    assert row is not None  # inserted or found just now, in this transaction
    return to_row(ReminderRow, row)


async def get(*, session: AsyncSession, dedupe_key: str) -> ReminderRow | None:
    """The reminder with this key, or ``None``."""
    row = (await session.execute(_BY_KEY, {"dedupe_key": dedupe_key})).first()
    return to_row(ReminderRow, row) if row else None


async def claim_due(
    *, session: AsyncSession, now: datetime, worker_id: str, limit: int, lease_seconds: float
) -> list[ReminderRow]:
    """Lease up to ``limit`` due pending reminders to ``worker_id`` (see the outbox)."""
    rows = await _common.run_claim(
        session,
        _claim_statements(dialect_of(session)),
        due="due_at",
        now=now,
        worker_id=worker_id,
        limit=limit,
        lease_seconds=lease_seconds,
    )
    return [to_row(ReminderRow, row) for row in rows]


@functools.cache
def _claim_statements(dialect: str) -> tuple[Any, Any]:
    return _common.claim_statements(_REMINDERS, due="due_at", dialect=dialect)


async def mark_fired(*, session: AsyncSession, reminder_id: int) -> bool:
    """Record that a reminder was acted on; False if it was already fired or cancelled."""
    statement = (
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == PENDING)
        .values(status=FIRED, fired_at=utcnow(), claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def release(*, session: AsyncSession, reminder_id: int, due_at: datetime) -> bool:
    """Hand a claimed reminder back to be tried again at ``due_at`` (its action failed)."""
    statement = (
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == PENDING)
        .values(due_at=due_at, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@functools.cache
def _schedule_statement(dialect: str) -> Any:
    """Insert a reminder or, while it is still pending, move the one with its key to the new
    time (``ON CONFLICT (dedupe_key) DO UPDATE … WHERE status = 'pending'``), returning it.

    Built once per dialect: the new values come from the row that was to be inserted.
    """
    statement = dialect_insert(dialect, Reminder)
    moved = {name: statement.excluded[name] for name in ("kind", "case_id", "subject", "due_at")}
    return statement.on_conflict_do_update(
        index_elements=["dedupe_key"],
        set_={**moved, "claimed_by": None, "claimed_until": None},
        where=_REMINDERS.c.status == PENDING,
    ).returning(*_REMINDERS.c)


async def cancel(
    *, session: AsyncSession, case_id: str, kind: str | Collection[str] | None = None
) -> int:
    """Cancel a case's pending reminders (all, or of one ``kind`` or several); returns how many."""
    kinds = [kind] if isinstance(kind, str) else [] if kind is None else list(kind)
    if kind is not None and not kinds:
        return 0  # none of no kinds (an empty list must not mean "all")
    parameters: dict[str, Any] = {"of_case": case_id}
    parameters.update({f"kind_{n}": name for n, name in enumerate(kinds)})
    result = await session.execute(_cancel_statement(len(kinds)), parameters)
    return int(result.rowcount)  # type: ignore[attr-defined]


@functools.cache
def _cancel_statement(kinds: int) -> Any:
    """:func:`cancel`'s ``UPDATE`` for this many kinds (0: all), built once.

    On the table (no ORM bulk-update machinery), and one parameter per kind rather than an
    expanding ``IN``, whose SQL is rewritten on every run: keeping in touch cancels on
    every press.
    """
    table = _REMINDERS
    statement = update(table).where(table.c.case_id == bindparam("of_case"))
    statement = statement.where(table.c.status == PENDING)
    if kinds:
        chosen = [bindparam(f"kind_{n}", type_=table.c.kind.type) for n in range(kinds)]
        statement = statement.where(table.c.kind.in_(chosen))
    return statement.values(status=CANCELLED, claimed_by=None, claimed_until=None)


async def cancel_key(*, session: AsyncSession, dedupe_key: str) -> bool:
    """Cancel one pending reminder by its key."""
    statement = (
        update(Reminder)
        .where(Reminder.dedupe_key == dedupe_key, Reminder.status == PENDING)
        .values(status=CANCELLED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
