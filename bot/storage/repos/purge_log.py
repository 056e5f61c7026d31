"""The purge log: what the retention rules deleted, when, and by whose hand.

A row is written in the same transaction that deletes a case's (or a draft's) rows, so the
log and the deletion stand or fall together, and it is never deleted itself. It names the
case by reference only: nothing personal survives the purge. The file-store paths to remove
are kept on the row until the files are gone (:func:`files_removed`), which is how a purge
interrupted after its commit is finished by the next run (:func:`unfinished`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos._common import to_row
from bot.storage.tables import PurgeRecord

DRAFT = "flow_draft"  # the kind logged for an abandoned draft; its reference is the draft id


@dataclass(frozen=True, slots=True)
class PurgeRow:
    """One purge: ``reference`` is the case's (a draft's id for a draft)."""

    id: int
    reference: str
    kind: str
    closed_at: datetime | None
    purged_at: datetime
    file_count: int
    purged_by: str
    pending_files: list[str]
    files_removed_at: datetime | None


async def record(
    *,
    session: AsyncSession,
    reference: str,
    kind: str,
    closed_at: datetime | None,
    purged_at: datetime,
    purged_by: str,
    paths: Iterable[str],
    file_count: int,
) -> PurgeRow:
    """Log a purge whose rows are being deleted in this transaction."""
    row = PurgeRecord(
        reference=reference,
        kind=kind,
        closed_at=closed_at,
        purged_at=purged_at,
        file_count=file_count,
        purged_by=purged_by,
        pending_files=sorted(set(paths)),
        files_removed_at=None,
    )
    session.add(row)
    await session.flush()
    return to_row(PurgeRow, row)


async def unfinished(*, session: AsyncSession) -> list[PurgeRow]:
    """Purges whose files have not all been removed from the store yet, oldest first."""
    statement = select(PurgeRecord).where(PurgeRecord.files_removed_at.is_(None))
    rows = await session.scalars(statement.order_by(PurgeRecord.id))
    return [to_row(PurgeRow, row) for row in rows]


async def files_removed(*, session: AsyncSession, purge_id: int, at: datetime) -> None:
    """Mark a purge's files as removed and forget their paths."""
    statement = (
        update(PurgeRecord)
        .where(PurgeRecord.id == purge_id)
        .values(pending_files=[], files_removed_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)


async def for_references(*, session: AsyncSession, references: Iterable[str]) -> list[PurgeRow]:
    """The purges of these references (none for a reference never purged)."""
    wanted = sorted(set(references))
    if not wanted:
        return []
    statement = select(PurgeRecord).where(PurgeRecord.reference.in_(wanted))
    rows = await session.scalars(statement.order_by(PurgeRecord.id))
    return [to_row(PurgeRow, row) for row in rows]


async def case_references(*, session: AsyncSession) -> set[str]:
    """The reference of every case ever purged (for telling a purge from a removal)."""
    statement = select(PurgeRecord.reference).where(PurgeRecord.kind != DRAFT)
    return set(await session.scalars(statement))
