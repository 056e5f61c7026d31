"""Helpers shared by the repositories: ids, row conversion, upserts and claiming due rows.

Upserts and claims are where SQLite and PostgreSQL differ in syntax, so the differences
live here once rather than in every repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, and_, or_, select, update
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


def fresh_returning(statement: Insert, model: type[Any]) -> Any:
    """``statement`` returning the whole row as ``model``, overwriting any copy in the session.

    Saves reading back a row just inserted (or updated on a clash) with a second statement.
    """
    return (
        select(model)
        .from_statement(statement.returning(*model.__table__.c))
        .execution_options(populate_existing=True)
    )


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


async def claim_due(
    session: AsyncSession,
    model: type[Any],
    *,
    due: Any,
    now: datetime,
    worker_id: str,
    limit: int,
    lease_seconds: float,
) -> list[Any]:
    """Lease up to ``limit`` pending rows that are due, so no other worker takes them.

    A claim sets ``claimed_by`` and ``claimed_until``; a row whose lease ran out (its worker
    crashed) is claimable again. PostgreSQL picks rows with ``FOR UPDATE SKIP LOCKED`` so
    concurrent workers skip each other's rows instead of queueing; SQLite has one writer at a
    time, so a single conditional ``UPDATE … WHERE id IN (…)`` is already exclusive.

    Returns:
        The claimed ORM objects, oldest due first.
    """
    claimable = and_(
        model.status == "pending",
        due <= now,
        or_(model.claimed_until.is_(None), model.claimed_until < now),
    )
    pick = select(model.id).where(claimable).order_by(due, model.id).limit(limit)
    values = {
        "claimed_by": worker_id,
        "claimed_until": now + timedelta(seconds=lease_seconds),
    }
    if dialect_of(session) == "postgresql":
        ids = list((await session.scalars(pick.with_for_update(skip_locked=True))).all())
        if not ids:
            return []
        chosen: Any = model.id.in_(ids)
    else:
        chosen = model.id.in_(pick.scalar_subquery())
    statement = (
        update(model)
        .where(chosen, claimable)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    claimed = list((await session.scalars(statement)).all())
    if not claimed:
        return []
    rows = await session.scalars(
        fresh(select(model).where(model.id.in_(claimed)).order_by(due, model.id))
    )
    return list(rows.all())
