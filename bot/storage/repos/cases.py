"""Cases, their submitted versions and their reference numbers.

Case rows carry a ``version``. :func:`update` only writes when the caller's version is
still the current one (``UPDATE … WHERE id = :id AND version = :v``), so of two people
pressing "Acknowledge" at the same moment exactly one wins and the other is told who did.
Reference numbers (``AB-2026-0042``) come from one atomic upsert per allocation, unique
across processes on both backends.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import Actor
from bot.storage.repos._common import (
    fresh,
    new_id,
    new_values,
    set_from_parameters,
    to_row,
    upsert,
)
from bot.storage.tables import Case, CaseVersion, ReferenceCounter
from bot.storage.types import utcnow

# What update() may change; anything else (id, kind, reference, reporter) is fixed at birth.
UPDATABLE = frozenset({"state", "urgent", "assignee", "data", "closed_at"})

# The hot look-ups, built once and run as plain Core (no ORM identity map to refresh, no
# object loading): every press reads its case.
_CASES = cast(Table, Case.__table__)
_BY_ID = select(_CASES).where(_CASES.c.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_REFERENCE = select(_CASES).where(_CASES.c.reference == bindparam("reference"))


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case as stored. ``reporter`` and ``assignee`` are ``Actor.to_json()`` dicts."""

    id: str
    kind: str
    reference: str
    state: str
    version: int
    urgent: bool
    reporter_key: str
    reporter: dict[str, Any]
    assignee_key: str | None
    assignee: dict[str, Any] | None
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    legal_hold: bool = False

    @property
    def reporter_actor(self) -> Actor:
        """The reporter as a neutral :class:`~bot.model.Actor`."""
        return Actor.from_json(self.reporter)

    @property
    def assignee_actor(self) -> Actor | None:
        """The assignee as an :class:`~bot.model.Actor`, or ``None`` when unassigned."""
        return Actor.from_json(self.assignee) if self.assignee else None


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One submitted version of a case's answers."""

    case_id: str
    number: int
    data: dict[str, Any]
    created_at: datetime
    created_by: str


async def create(
    *,
    session: AsyncSession,
    kind: str,
    reference: str,
    state: str,
    reporter: Actor,
    data: dict[str, Any],
    urgent: bool = False,
) -> CaseRow:
    """Insert a new case at version 1 and return it."""
    now = utcnow()
    case = Case(
        id=new_id(),
        kind=kind,
        reference=reference,
        state=state,
        version=1,
        urgent=urgent,
        reporter_key=reporter.key,
        reporter=reporter.to_json(),
        assignee_key=None,
        assignee=None,
        data=data,
        created_at=now,
        updated_at=now,
        closed_at=None,
    )
    session.add(case)
    await session.flush()
    return to_row(CaseRow, case)


async def get(*, session: AsyncSession, case_id: str) -> CaseRow | None:
    """The case with this id, or ``None``."""
    case = (await session.execute(_BY_ID, {"id": case_id})).first()
    return to_row(CaseRow, case) if case else None


async def get_locked(*, session: AsyncSession, case_id: str) -> CaseRow | None:
    """The case with this id, its row locked until the transaction ends, or ``None``.

    ``SELECT … FOR UPDATE`` on PostgreSQL (SQLite transactions are exclusive already). Work
    on a case's reminders or outbox rows locks the case first, as a press does, so two
    transactions never wait for each other in a circle.
    """
    case = (await session.execute(_BY_ID_LOCKED, {"id": case_id})).first()
    return to_row(CaseRow, case) if case else None


async def get_by_reference(*, session: AsyncSession, reference: str) -> CaseRow | None:
    """The case with this reference (``AB-2026-0042``), or ``None``."""
    case = (await session.execute(_BY_REFERENCE, {"reference": reference})).first()
    return to_row(CaseRow, case) if case else None


async def update(
    *, session: AsyncSession, case_id: str, expected_version: int, **changes: Any
) -> bool:
    """Change a case if nobody else changed it since ``expected_version``; bump its version.

    Returns:
        True if the row was updated, False if the version no longer matched (or no such case).
        See :func:`changed` for the arguments.
    """
    row = await changed(
        session=session, case_id=case_id, expected_version=expected_version, **changes
    )
    return row is not None


async def changed(
    *, session: AsyncSession, case_id: str, expected_version: int, **changes: Any
) -> CaseRow | None:
    """:func:`update`, returning the case as it now is (one statement, no second read).

    Args:
        changes: any of ``state``, ``urgent``, ``data``, ``closed_at`` and ``assignee``
            (an :class:`~bot.model.Actor` or ``None``; its key is stored alongside).

    Returns:
        The updated case, or ``None`` if the version no longer matched (or no such case).
    """
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"cases.update() cannot change {sorted(unknown)}")
    values: dict[str, Any] = dict(changes)
    if "assignee" in values:
        assignee: Actor | None = values.pop("assignee")
        values["assignee"] = assignee.to_json() if assignee else None
        values["assignee_key"] = assignee.key if assignee else None
    statement = _change_statement(tuple(sorted(values)))
    parameters = new_values(values)
    parameters.update(case_id=case_id, expected_version=expected_version, now=utcnow())
    row = (await session.execute(statement, parameters)).first()
    return to_row(CaseRow, row) if row else None


@functools.cache
def _change_statement(columns: tuple[str, ...]) -> Any:
    """The versioned ``UPDATE … RETURNING`` of :func:`changed` for these columns, built once.

    Plain Core on the table (no ORM bulk-update machinery), and built once per set of
    columns, so a press neither builds nor keys a statement (a press changes its case).
    """
    return (
        sql_update(_CASES)
        .where(
            _CASES.c.id == bindparam("case_id"),
            _CASES.c.version == bindparam("expected_version"),
        )
        .values(
            {
                **set_from_parameters(_CASES, columns),
                "version": _CASES.c.version + 1,
                "updated_at": bindparam("now", type_=_CASES.c.updated_at.type),
            }
        )
        .returning(*_CASES.c)
    )


async def list(
    *,
    session: AsyncSession,
    kind: str | None = None,
    states: Iterable[str] | None = None,
    reporter_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> builtins.list[CaseRow]:
    """Cases matching the filters, newest first."""
    statement = select(Case)
    if kind is not None:
        statement = statement.where(Case.kind == kind)
    if states is not None:
        statement = statement.where(Case.state.in_(builtins.list(states)))
    if reporter_key is not None:
        statement = statement.where(Case.reporter_key == reporter_key)
    statement = statement.order_by(Case.created_at.desc(), Case.id).limit(limit).offset(offset)
    return [to_row(CaseRow, case) for case in await session.scalars(fresh(statement))]


async def next_reference(*, session: AsyncSession, prefix: str, year: int) -> str:
    """Allocate the next reference number, e.g. ``AB-2026-0042``.

    One ``INSERT … ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last``: the database
    serialises concurrent allocations, so two processes never get the same number.
    """
    statement = upsert(
        session,
        ReferenceCounter,
        {"prefix": prefix, "year": year, "last": 1},
        conflict=("prefix", "year"),
        update_values={"last": ReferenceCounter.last + 1},
    ).returning(ReferenceCounter.last)
    number = (await session.execute(statement)).scalar_one()
    return format_reference(prefix, year, number)


def format_reference(prefix: str, year: int, number: int) -> str:
    """The reference of the ``number``-th case under ``prefix`` in ``year``: ``AB-2026-0042``."""
    return f"{prefix}-{year}-{number:04d}"


async def issued_references(*, session: AsyncSession) -> builtins.list[tuple[str, int, int]]:
    """Every counter as ``(prefix, year, last number handed out)``."""
    statement = select(ReferenceCounter.prefix, ReferenceCounter.year, ReferenceCounter.last)
    rows = await session.execute(statement.order_by(ReferenceCounter.prefix, ReferenceCounter.year))
    return [(row.prefix, row.year, row.last) for row in rows]


async def set_legal_hold(*, session: AsyncSession, case_id: str, on: bool) -> bool:
    """Put a case on legal hold or lift it; True if that changed anything.

    The case's ``version`` stays as it is: a hold is not a step in the lifecycle, and cards
    already posted keep working. The caller records who and why on the timeline.
    """
    statement = (
        sql_update(Case)
        .where(Case.id == case_id, Case.legal_hold == (not on))
        .values(legal_hold=on)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def add_version(
    *, session: AsyncSession, case_id: str, data: dict[str, Any], created_by: str
) -> VersionRow:
    """Record a submitted version of a case's answers, numbered 1, 2, 3… per case."""
    latest = await session.scalar(
        select(func.max(CaseVersion.number)).where(CaseVersion.case_id == case_id)
    )
    version = CaseVersion(
        case_id=case_id,
        number=(latest or 0) + 1,
        data=data,
        created_at=utcnow(),
        created_by=created_by,
    )
    session.add(version)
    await session.flush()
    return to_row(VersionRow, version)


async def list_versions(*, session: AsyncSession, case_id: str) -> builtins.list[VersionRow]:
    """Every submitted version of a case, oldest first."""
    statement = select(CaseVersion).where(CaseVersion.case_id == case_id)
    rows = await session.scalars(fresh(statement.order_by(CaseVersion.number)))
    return [to_row(VersionRow, row) for row in rows]
