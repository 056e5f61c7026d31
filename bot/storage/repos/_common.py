"""Helpers shared by the repositories: ids, row conversion, upserts and claiming due rows.

Upserts and claims are where SQLite and PostgreSQL differ in syntax, so the differences
live here once rather than in every repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RowT = TypeVar("RowT", bound="DataclassInstance")
SelectT = TypeVar("SelectT", bound=Select[Any])


def new_id() -> str:
    """A new 32-hex id (a UUID4 without dashes)."""
    return uuid.uuid4().hex


def to_row(cls: type[RowT], source: Any) -> RowT:
    """Copy the attributes named by dataclass ``cls`` from an ORM object or a result row."""
    return cls(**{f.name: getattr(source, f.name) for f in fields(cls)})


def fresh(statement: SelectT) -> SelectT:
    """Make a SELECT overwrite objects already in the session with what the database holds.

    Updates here are plain SQL (``UPDATE … WHERE version = :v``), which does not refresh
    objects the session loaded earlier; reading through this keeps results current.
    """
    return statement.execution_options(populate_existing=True)


def dialect_of(session: AsyncSession) -> str:
    """``"sqlite"`` or ``"postgresql"`` for the session's connection."""
    return session.get_bind().dialect.name


def dialect_insert(dialect: str, model: type[Any]) -> PostgresInsert | SQLiteInsert:
    """``INSERT INTO`` the model's table, spelt for ``dialect`` (for its ON CONFLICT clause).

    No values: they are given when the statement runs (``session.execute(statement, values)``).
    Building ``.values(**row)`` anew for every insert cost more than running it, so the hot
    inserts build their statement once per dialect (``functools.cache``) and reuse it.
    """
    table = cast(Table, model.__table__)
    return pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)


def set_from_parameters(table: Table, columns: Sequence[str]) -> dict[str, Any]:
    """``SET`` values for ``columns``, each bound as ``new_<column>`` with the column's type.

    For an UPDATE built once and run with :func:`new_values`. (A bound name may not be a
    column's own in an UPDATE's ``SET``, hence the prefix.)
    """
    return {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns}


def new_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters :func:`set_from_parameters` binds, for these column values."""
    return {f"new_{name}": value for name, value in values.items()}


def upsert(
    session: AsyncSession,
    model: type[Any],
    values: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    update_values: Mapping[str, Any] | None = None,
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING`` or ``DO UPDATE SET update_values``.

    Both backends support the same clause; SQLAlchemy spells it per dialect.

    Args:
        session: decides the dialect.
        model: the mapped class to insert into.
        values: the row to insert.
        conflict: the columns of the unique constraint that may clash.
        update_values: what to set on a clash; ``None`` for DO NOTHING.
        where: only update rows matching this (e.g. still pending).
    """
    dialect_insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    statement = dialect_insert(model).values(**values)
    if update_values is None:
        return statement.on_conflict_do_nothing(index_elements=list(conflict))
    return statement.on_conflict_do_update(
        index_elements=list(conflict), set_=dict(update_values), where=where
    )


def claim_statements(
    table: Table,
    *,
    due: str,
    dialect: str,
    lease: Mapping[str, Any] | None = None,
    also: Callable[[BindParameter[Any]], ColumnElement[bool]] | None = None,
) -> tuple[Any, Any]:
    """The claim of due rows from ``table``, to build once and run with :func:`run_claim`.

    A claim sets ``claimed_by`` and ``claimed_until`` (and ``lease``'s other values); a row
    whose lease ran out (its worker crashed) is claimable again. PostgreSQL picks rows with
    ``FOR UPDATE SKIP LOCKED`` so concurrent workers skip each other's rows instead of
    queueing, then leases those still claimable; SQLite has one writer at a time, so a
    single ``UPDATE … WHERE id IN (pick) RETURNING`` is already exclusive. ``also(now)``
    narrows what may be claimed (the outbox holds back a card while another rendering of
    it is in flight).

    Returns:
        ``(pick, claim)`` on PostgreSQL, ``(None, claim)`` on SQLite; ``claim`` returns the
        leased rows whole.
    """
    c = table.c
    now = bindparam("now", type_=c[due].type)
    claimable = and_(
        c.status == "pending",
        c[due] <= now,
        or_(c.claimed_until.is_(None), c.claimed_until < now),
        *(() if also is None else (also(now),)),
    )
    pick = (
        select(c.id)
        .where(claimable)
        .order_by(c[due], c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    leased = update(table).values(
        claimed_by=bindparam("worker", type_=c.claimed_by.type),
        claimed_until=bindparam("until", type_=c.claimed_until.type),
        **(lease or {}),
    )
    if dialect == "postgresql":
        chosen = c.id.in_(bindparam("ids", expanding=True))
        return pick.with_for_update(skip_locked=True), leased.where(chosen, claimable).returning(*c)
    return None, leased.where(c.id.in_(pick.scalar_subquery())).returning(*c)


async def run_claim(
    session: AsyncSession,
    statements: tuple[Any, Any],
    *,
    due: str,
    now: datetime,
    worker_id: str,
    limit: int,
    lease_seconds: float,
) -> list[Any]:
    """Lease up to ``limit`` due rows with :func:`claim_statements`; oldest due first."""
    if limit <= 0:
        return []
    pick, claim = statements
    values: dict[str, Any] = {
        "now": now,
        "until": now + timedelta(seconds=lease_seconds),
        "worker": worker_id,
        "limit": limit,
    }
    if pick is not None:
        values["ids"] = list((await session.scalars(pick, values)).all())
        if not values["ids"]:
            return []
    rows = list(await session.execute(claim, values))
    return sorted(rows, key=lambda row: (getattr(row, due), row.id))
