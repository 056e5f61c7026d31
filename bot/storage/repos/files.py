"""Records of evidence files: who sent what, for which draft or case, and where it is.

The bytes are in the :class:`~bot.storage.files.FileStore`; this table keeps the name the
person gave, the declared type, size and SHA-256 (for the evidence pack), and links the
file first to the draft it was attached to, then to the case once submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.files import SavedFile
from bot.storage.repos._common import fresh, new_id, to_row
from bot.storage.tables import StoredFile
from bot.storage.types import utcnow


@dataclass(frozen=True, slots=True)
class FileRow:
    """A stored evidence file; ``path`` is relative to the file store's root."""

    id: str
    case_id: str | None
    session_id: str | None
    name: str
    mime_type: str
    size: int
    sha256: str
    path: str
    platform: str
    received_at: datetime


async def record(
    *,
    session: AsyncSession,
    saved: SavedFile,
    name: str,
    mime_type: str,
    platform: str,
    case_id: str | None = None,
    session_id: str | None = None,
) -> FileRow:
    """Record a file just saved to the store, linked to a draft and/or a case."""
    row = StoredFile(
        id=new_id(),
        case_id=case_id,
        session_id=session_id,
        name=name,
        mime_type=mime_type,
        size=saved.size,
        sha256=saved.sha256,
        path=saved.path,
        platform=platform,
        received_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return to_row(FileRow, row)


async def get(*, session: AsyncSession, file_id: str) -> FileRow | None:
    """The file record with this id, or ``None``."""
    row = await session.scalar(fresh(select(StoredFile).where(StoredFile.id == file_id)))
    return to_row(FileRow, row) if row else None


async def list_for_case(*, session: AsyncSession, case_id: str) -> list[FileRow]:
    """A case's files in the order they arrived."""
    statement = select(StoredFile).where(StoredFile.case_id == case_id)
    rows = await session.scalars(fresh(statement.order_by(StoredFile.received_at, StoredFile.id)))
    return [to_row(FileRow, row) for row in rows]


async def list_for_session(*, session: AsyncSession, session_id: str) -> list[FileRow]:
    """The files attached to a draft so far."""
    statement = select(StoredFile).where(StoredFile.session_id == session_id)
    rows = await session.scalars(fresh(statement.order_by(StoredFile.received_at, StoredFile.id)))
    return [to_row(FileRow, row) for row in rows]


async def attach_to_case(*, session: AsyncSession, session_id: str, case_id: str) -> int:
    """Link a submitted draft's files to its case; returns how many were linked."""
    statement = (
        update(StoredFile)
        .where(StoredFile.session_id == session_id)
        .values(case_id=case_id)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
