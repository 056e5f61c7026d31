"""Recurring senders for the monthly report, from the ``sender_hashes`` table.

Sender identifiers are kept only as keyed hashes, one row per sender named in a report
(:mod:`bot.storage.repos.senders`). A database not yet migrated to the schema that holds
them (the table arrived after the first releases) makes the report say "not yet
available" instead of failing: the table is looked for with :func:`sqlalchemy.inspect`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import Case, SenderHash

TABLE = SenderHash.__tablename__


def _has_table(connection: Any) -> bool:
    inspector = inspect(connection)
    if not inspector.has_table(TABLE):
        return False
    return {"case_id", "digest"} <= {c["name"] for c in inspector.get_columns(TABLE)}


async def recurring_senders(
    db: async_sessionmaker[AsyncSession], since: datetime, until: datetime
) -> int | None:
    """How many senders are named in more than one abuse report created in the window.

    Returns:
        The count, or ``None`` when the database has no ``sender_hashes`` table yet.
    """
    async with db() as session:
        connection = await session.connection()
        if not await connection.run_sync(_has_table):
            return None
        repeated = (
            select(SenderHash.digest)
            .join(Case, Case.id == SenderHash.case_id)
            .where(Case.kind == "abuse_report", Case.created_at >= since)
            .where(Case.created_at < until)
            .group_by(SenderHash.digest)
            .having(func.count(distinct(SenderHash.case_id)) > 1)
            .subquery()
        )
        return int(await session.scalar(select(func.count()).select_from(repeated)) or 0)
