"""Reading the register: every case matching the filters, one flat record each, in pages.

:func:`records` walks the cases by keyset pagination on ``(created_at, id)``: each page is
one short query (``WHERE (created_at, id) > last seen ORDER BY created_at, id LIMIT n``) in
its own short transaction, so memory stays flat however many cases there are, and no
transaction is held open for the length of an export (on SQLite every transaction takes
the write lock, see :mod:`bot.storage.engine`; a long one would stall the bot).

Each page is one statement: the acknowledge and close times and the number of evidence
files come from correlated subqueries on indexed columns, not one query per case. Only
the answers the register shows are pulled out of the JSON ``data`` (never the reporter's
name or the free-text description), so personal data does not even reach memory. With
``BOT_DATA_KEY`` set each answer comes out of the JSON sealed and is opened by its column type
(:class:`~bot.storage.types.SealedText`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, type_coerce
from sqlalchemy import case as when_then
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import Case, CaseEvent, StoredFile
from bot.storage.types import SealedText

PAGE_SIZE = 500
#: Answers the register shows: each is a choice or a short text, never free narrative.
ANSWERS = ("channel", "kind", "platform", "work_item", "reporter_role")


@dataclass(frozen=True)
class Filters:
    """Which cases to read. Times are aware; ``until`` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    states: tuple[str, ...] = ()
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One case as the register sees it; answers are option ids or short text."""

    id: str
    reference: str
    kind: str
    state: str
    urgent: bool
    created_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    answers: dict[str, str | None]
    evidence_files: int


def _event_time(name: str, pick: Any) -> Any:
    return (
        select(pick(CaseEvent.at))
        .where(CaseEvent.case_id == Case.id, CaseEvent.event == name)
        .correlate(Case)
        .scalar_subquery()
    )


def _columns() -> list[Any]:
    files = (
        select(func.count(StoredFile.id))
        .where(StoredFile.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    # The last close counts, and only while the case is still closed (it may be reopened).
    closed = when_then(
        (Case.closed_at.is_not(None), Case.closed_at),
        (Case.state == "closed", _event_time("close", func.max)),
        else_=None,
    )
    answers = [
        type_coerce(Case.data[key].as_string(), SealedText()).label(f"a_{key}") for key in ANSWERS
    ]
    return [
        Case.id,
        Case.reference,
        Case.kind,
        Case.state,
        Case.urgent,
        Case.created_at,
        _event_time("acknowledge", func.min).label("acknowledged_at"),
        closed.label("closed_at"),
        *answers,
        files.label("evidence_files"),
    ]


def _filtered(statement: Select[Any], filters: Filters) -> Select[Any]:
    if filters.since is not None:
        statement = statement.where(Case.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Case.created_at < filters.until)
    if filters.states:
        statement = statement.where(Case.state.in_(filters.states))
    if filters.kind is not None:
        statement = statement.where(Case.kind == filters.kind)
    return statement


async def count(db: async_sessionmaker[AsyncSession], filters: Filters) -> int:
    """How many cases match (for a progress bar)."""
    async with db() as session:
        total = await session.scalar(_filtered(select(func.count(Case.id)), filters))
    return int(total or 0)


async def records(
    db: async_sessionmaker[AsyncSession], filters: Filters, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[Record]:
    """Yield every matching case, oldest first, holding at most one page in memory.

    Args:
        db: the session factory; each page uses its own short session.
        filters: which cases.
        page_size: cases per query.
    """
    base = _filtered(select(*_columns()), filters).order_by(Case.created_at, Case.id)
    after: tuple[datetime, str] | None = None
    while True:
        statement = base
        if after is not None:
            at, last_id = after
            statement = statement.where(
                or_(Case.created_at > at, and_(Case.created_at == at, Case.id > last_id))
            )
        async with db() as session:
            page = (await session.execute(statement.limit(page_size))).all()
        for row in page:
            yield Record(
                id=row.id,
                reference=row.reference,
                kind=row.kind,
                state=row.state,
                urgent=bool(row.urgent),
                created_at=row.created_at,
                acknowledged_at=row.acknowledged_at,
                closed_at=row.closed_at,
                answers={key: getattr(row, f"a_{key}") for key in ANSWERS},
                evidence_files=int(row.evidence_files or 0),
            )
        if len(page) < page_size:
            return
        after = (page[-1].created_at, page[-1].id)
