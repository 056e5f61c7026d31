"""Reading the register: every case matching the filters, one flat record each, in pages.

:func:`pages` walks the cases by keyset pagination on ``(created_at, id)``: each page is
one short query (``WHERE (created_at, id) > last seen ORDER BY created_at, id LIMIT n``) in
its own short transaction, so memory stays flat however many cases there are, and no
transaction is held open for the length of an export (on SQLite every transaction takes
the write lock, see :mod:`bot.storage.engine`; a long one would stall the bot).

The keyset condition is written ``created_at >= t AND (created_at > t OR id > i)``, not
``created_at > t OR (created_at = t AND id > i)``: SQLite (with the limit a bound parameter)
plans the second as a walk of the ``created_at`` index from its very start, so each page
cost more than the one before and a million cases took minutes; the first starts the walk
at ``t``. PostgreSQL is quick with either.

Each page is one statement: the acknowledge and close times and the number of evidence
files come from correlated subqueries on indexed columns, not one query per case. Only
the answers the register shows are pulled out of the JSON ``data`` (never the reporter's
name or the free-text description), so personal data does not even reach memory.

An export reads millions of values, so the page runs on the session's connection (not
through the ORM) and its rows come back as the driver gives them: the times are read by
:func:`utc` and the answers by :func:`opened`, as their column types would read them but
without a call through SQLAlchemy for every value. With ``BOT_DATA_KEY`` set each answer
comes out of the JSON sealed; only a case with an answer that starts with the reserved
``sealed:`` needs any opening, and one look at its answers together tells. Pages are read
one after another: a SQLite statement runs on the event loop's thread
(:mod:`bot.storage.sqlite_inline`), so the next page could not be read while this one is
written anyway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, overload

from sqlalchemy import Select, and_, func, or_, select, type_coerce
from sqlalchemy import case as when_then
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import NullType

from bot.storage.crypto import RESERVED, DataCipher, cipher_of, open_text
from bot.storage.tables import Case, CaseEvent, StoredFile

#: Cases per query: on SQLite a page holds the write lock for about 20 ms (a million cases).
PAGE_SIZE = 2000
#: Answers the register shows: each is a choice or a short text, never free narrative.
ANSWERS = ("channel", "kind", "platform", "work_item", "reporter_role")


@dataclass(frozen=True)
class Filters:
    """Which cases to read. Times are aware; ``until`` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    states: tuple[str, ...] = ()
    kind: str | None = None


class Record(NamedTuple):
    """One case as the register sees it; answers are option ids or short text.

    A named tuple: a million of them are made for an export, one at a time.
    """

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
    """The page's columns, in the order :func:`_record` reads them."""
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
    return [
        Case.id,
        Case.reference,
        Case.kind,
        Case.state,
        Case.urgent,
        _as_stored(Case.created_at).label("created_at"),
        _as_stored(_event_time("acknowledge", func.min)).label("acknowledged_at"),
        _as_stored(closed).label("closed_at"),
        files.label("evidence_files"),
        *(Case.data[key].as_string().label(f"a_{key}") for key in ANSWERS),
    ]


def _as_stored(time: Any) -> Any:
    """A time column as the driver hands it back, to be read by :func:`utc`."""
    return type_coerce(time, NullType())


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


def _after(created_at: datetime, case_id: str) -> Any:
    """Cases after ``(created_at, case_id)`` in the register's order (see the module notes)."""
    return and_(
        Case.created_at >= created_at,
        or_(Case.created_at > created_at, Case.id > case_id),
    )


@overload
def utc(stored: datetime | str) -> datetime: ...
@overload
def utc(stored: None) -> None: ...
def utc(stored: datetime | str | None) -> datetime | None:
    """A stored time as :class:`~bot.storage.types.UTCDateTime` reads it: aware, in UTC.

    Read here, not by the column type, as that costs over a microsecond a time and an
    export reads millions: SQLite gives back text in UTC without the offset (parsed with
    ``+00:00`` put back, much cheaper than ``replace(tzinfo=...)``), PostgreSQL an aware
    datetime.
    """
    if isinstance(stored, str):
        try:
            return datetime.fromisoformat(stored + "+00:00")
        except ValueError:  # written with an offset by something other than the bot
            stored = datetime.fromisoformat(stored)
    if stored is None:
        return None
    return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


def opened(answer: str | None, cipher: DataCipher | None) -> str | None:
    """An answer as typed: opened if sealed (or escaped), as ``SealedText`` would open it.

    Raises:
        DataKeyError: it is sealed and ``cipher`` cannot open it.
    """
    if answer is None or not answer.startswith(RESERVED):
        return answer
    return open_text(answer, cipher)


def _answers(stored: Sequence[str | None], cipher: DataCipher | None) -> dict[str, str | None]:
    """The answers by name, as typed.

    Only an answer that starts with the reserved ``sealed:`` needs opening; one look at all
    of them together rules that out for most cases, for less than a look at each.
    """
    if RESERVED in "".join(filter(None, stored)):
        stored = [opened(answer, cipher) for answer in stored]
    return dict(zip(ANSWERS, stored, strict=True))


def _record(row: Sequence[Any], cipher: DataCipher | None) -> Record:
    """A page row (the columns of :func:`_columns`) as a record."""
    return Record(
        row[0],
        row[1],
        row[2],
        row[3],
        bool(row[4]),
        utc(row[5]),
        utc(row[6]),
        utc(row[7]),
        _answers(row[9:], cipher),
        int(row[8] or 0),
    )


async def count(db: async_sessionmaker[AsyncSession], filters: Filters) -> int:
    """How many cases match (for a progress bar)."""
    async with db() as session:
        total = await session.scalar(_filtered(select(func.count(Case.id)), filters))
    return int(total or 0)


async def pages(
    db: async_sessionmaker[AsyncSession], filters: Filters, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[list[Record]]:
    """Yield every matching case, oldest first, a page of records at a time.

    Args:
        db: the session factory; each page uses its own short session.
        filters: which cases.
        page_size: cases per query.
    """
    base = _filtered(select(*_columns()), filters).order_by(Case.created_at, Case.id)
    statement = base.limit(page_size)
    while True:
        async with db() as session:
            connection = await session.connection()
            cipher = cipher_of(connection.dialect)
            rows = (await connection.execute(statement)).all()
        page = [_record(row, cipher) for row in rows]
        if page:
            yield page
        if len(page) < page_size:
            return
        last = page[-1]
        statement = base.where(_after(last.created_at, last.id)).limit(page_size)


async def records(
    db: async_sessionmaker[AsyncSession], filters: Filters, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[Record]:
    """Yield every matching case, oldest first, holding at most one page in memory.

    Args:
        db: the session factory; each page uses its own short session.
        filters: which cases.
        page_size: cases per query.
    """
    async for page in pages(db, filters, page_size=page_size):
        for record in page:
            yield record
