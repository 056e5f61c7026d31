"""What the retention rules may let go, and deleting a case's or a draft's rows for good.

:func:`ended_before` finds finished cases and :func:`drafts_untouched_since` abandoned drafts;
:mod:`bot.records.purge` decides what goes. :func:`delete_case` removes every row that hangs
off a case: the rows of every table with a foreign key to ``cases`` (found from the schema,
so a table added later is not forgotten), the files recorded against its drafts, and the
outbox rows about it, including direct messages, which carry the case only in their dedupe
key (``manager:<case id>:…``, ``reminder:<reminder id>:…``). It returns the file-store paths
whose rows it deleted; the files themselves go only after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos.outbox import PENDING
from bot.storage.tables import (
    Base,
    Case,
    CaseEvent,
    FlowSession,
    OutboxMessage,
    Presence,
    Reminder,
    StoredFile,
)

ABANDONED = ("open", "discarded")
# Keeps each OR of dedupe-key patterns well inside SQLite's expression depth limit (1000).
_CHUNK = 100


@dataclass(frozen=True, slots=True)
class EndedCase:
    """A finished case, when it finished, and what may keep it."""

    case_id: str
    reference: str
    kind: str
    state: str
    ended_at: datetime
    legal_hold: bool
    live_presence: bool
    files: int


@dataclass(frozen=True, slots=True)
class AbandonedDraft:
    """A draft nobody has touched for a while (or one its author discarded)."""

    id: str
    flow: str
    status: str
    touched_at: datetime
    files: int
    case_held: bool  # an edit of a case that is on legal hold


async def ended_before(
    *,
    session: AsyncSession,
    kind: str,
    states: Iterable[str],
    end_events: Iterable[str],
    before: datetime,
    case_id: str | None = None,
) -> list[EndedCase]:
    """Cases of ``kind`` in one of ``states`` that ended at or before ``before``.

    A case ended at its ``closed_at`` or, when that is not set (business cases), at the
    latest of its ``end_events`` (``approve``, ``reject``, …) on the timeline.
    """
    last_event = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == Case.id, CaseEvent.event.in_(list(end_events)))
        .correlate(Case)
        .scalar_subquery()
    )
    ended = func.coalesce(Case.closed_at, last_event, type_=Case.closed_at.type)
    presence = exists().where(Presence.case_id == Case.id).correlate(Case)
    files = (
        select(func.count(StoredFile.id))
        .where(StoredFile.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    statement = select(
        Case.id,
        Case.reference,
        Case.kind,
        Case.state,
        ended.label("ended_at"),
        Case.legal_hold,
        presence.label("live_presence"),
        files.label("files"),
    ).where(Case.kind == kind, Case.state.in_(list(states)), ended <= before)
    if case_id is not None:
        statement = statement.where(Case.id == case_id)
    rows = await session.execute(statement.order_by(ended, Case.reference))
    return [
        EndedCase(
            r.id,
            r.reference,
            r.kind,
            r.state,
            r.ended_at,
            bool(r.legal_hold),
            bool(r.live_presence),
            int(r.files),
        )
        for r in rows
    ]


async def drafts_untouched_since(
    *, session: AsyncSession, before: datetime, draft_id: str | None = None
) -> list[AbandonedDraft]:
    """Open or discarded drafts last changed at or before ``before``."""
    files = (
        select(func.count(StoredFile.id))
        .where(StoredFile.session_id == FlowSession.id, StoredFile.case_id.is_(None))
        .correlate(FlowSession)
        .scalar_subquery()
    )
    case_held = (
        select(Case.legal_hold).where(Case.id == FlowSession.case_id).correlate(FlowSession)
    ).scalar_subquery()
    statement = select(
        FlowSession.id,
        FlowSession.flow,
        FlowSession.status,
        FlowSession.updated_at,
        files.label("files"),
        case_held.label("case_held"),
    ).where(FlowSession.status.in_(ABANDONED), FlowSession.updated_at <= before)
    if draft_id is not None:
        statement = statement.where(FlowSession.id == draft_id)
    rows = await session.execute(statement.order_by(FlowSession.updated_at, FlowSession.id))
    return [
        AbandonedDraft(r.id, r.flow, r.status, r.updated_at, int(r.files), bool(r.case_held))
        for r in rows
    ]


async def lock_case(*, session: AsyncSession, case_id: str) -> bool:
    """Lock the case row for this transaction (PostgreSQL); False if it is gone."""
    statement = select(Case.id).where(Case.id == case_id).with_for_update()
    return await session.scalar(statement) is not None


async def lock_draft(*, session: AsyncSession, draft_id: str) -> bool:
    """Lock the draft's row for this transaction (PostgreSQL); False if it is gone."""
    statement = select(FlowSession.id).where(FlowSession.id == draft_id).with_for_update()
    return await session.scalar(statement) is not None


async def in_flight(*, session: AsyncSession, case_id: str, now: datetime) -> bool:
    """True while a delivery or reminder worker holds a lease on something of the case.

    Every pending row of the case is locked first (PostgreSQL), so a worker claiming one
    right now finishes its claim before this looks, and none can claim one afterwards until
    this transaction ends; on SQLite the transaction is exclusive already.
    """
    pending = [
        select(Reminder.claimed_until).where(
            Reminder.case_id == case_id, Reminder.status == PENDING
        )
    ]
    for matching in await _outbox_conditions(session, case_id):
        pending.append(
            select(OutboxMessage.claimed_until).where(matching, OutboxMessage.status == PENDING)
        )
    for statement in pending:
        leases = await session.scalars(statement.with_for_update())
        if any(until is not None and until > now for until in leases):
            return True
    return False


async def delete_case(*, session: AsyncSession, case_id: str) -> list[str]:
    """Delete the case and everything that hangs off it; return its files' store paths.

    Call inside the transaction that also logs the purge, after :func:`lock_case`.
    """
    drafts = select(FlowSession.id).where(FlowSession.case_id == case_id).scalar_subquery()
    owned = or_(StoredFile.case_id == case_id, StoredFile.session_id.in_(drafts))
    paths = list(await session.scalars(select(StoredFile.path).where(owned)))
    for matching in await _outbox_conditions(session, case_id):
        await _delete(session, delete(OutboxMessage).where(matching))
    await _delete(session, delete(StoredFile).where(owned))
    for table, column in _tables_referencing_cases():
        await _delete(session, delete(table).where(column == case_id))
    await _delete(session, delete(Case).where(Case.id == case_id))
    return paths


async def delete_draft(*, session: AsyncSession, draft_id: str) -> list[str]:
    """Delete an abandoned draft and the files attached to it; return their store paths."""
    owned = (StoredFile.session_id == draft_id) & StoredFile.case_id.is_(None)
    paths = list(await session.scalars(select(StoredFile.path).where(owned)))
    await _delete(session, delete(StoredFile).where(owned))
    await _delete(session, delete(FlowSession).where(FlowSession.id == draft_id))
    return paths


async def path_in_use(*, session: AsyncSession, path: str) -> bool:
    """True if any file record still points at this store path (files are shared by hash)."""
    statement = select(StoredFile.id).where(StoredFile.path == path).limit(1)
    return (await session.scalar(statement)) is not None


async def _outbox_conditions(session: AsyncSession, case_id: str) -> list[ColumnElement[bool]]:
    """Conditions that together match every outbox row about the case, a few at a time."""
    reminder_ids = list(
        await session.scalars(select(Reminder.id).where(Reminder.case_id == case_id))
    )
    conditions: list[ColumnElement[bool]] = [
        or_(
            OutboxMessage.case_id == case_id,
            OutboxMessage.dedupe_key.like(f"%:{case_id}:%"),
            OutboxMessage.dedupe_key.like(f"%:{case_id}"),
        )
    ]
    for chunk in _chunks(reminder_ids, _CHUNK):
        keys = [f"reminder:{number}" for number in chunk]
        conditions.append(
            or_(
                OutboxMessage.dedupe_key.in_(keys),
                *(OutboxMessage.dedupe_key.like(f"{key}:%") for key in keys),
            )
        )
    return conditions


def _tables_referencing_cases() -> list[tuple[Table, Any]]:
    """Every (table, column) with a foreign key to ``cases.id``, dependants first."""
    found = []
    for table in reversed(Base.metadata.sorted_tables):
        for key in table.foreign_keys:
            if key.column.table.name == Case.__tablename__:
                found.append((table, key.parent))
    return found


def _chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _delete(session: AsyncSession, statement: Any) -> None:
    await session.execute(statement.execution_options(synchronize_session=False))
