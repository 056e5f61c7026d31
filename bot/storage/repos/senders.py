"""The sender register: the hashing key, the hashes each report names, earlier matches."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos._common import upsert
from bot.storage.tables import Case, RegisterKey, SenderHash
from bot.storage.types import utcnow

KEY_NAME = "sender_hashes"

_HASHES = cast(Table, SenderHash.__table__)
_MINE = select(_HASHES.c.digest).where(_HASHES.c.case_id == bindparam("case_id"))
# How many other reports name a sender this one names: what a triage card shows, on every
# press. Counted in the index of digests, without reading the reports themselves.
_COUNT_OTHERS = select(func.count(_HASHES.c.case_id.distinct())).where(
    _HASHES.c.digest.in_(_MINE.scalar_subquery()),
    _HASHES.c.case_id != bindparam("case_id"),
)
_CASES = cast(Table, Case.__table__)
# The reports themselves, oldest first: what the details card and the register list.
_EARLIER = (
    select(_CASES.c.id, _CASES.c.reference, func.min(_CASES.c.created_at))
    .join(_HASHES, _HASHES.c.case_id == _CASES.c.id)
    .where(_HASHES.c.digest.in_(_MINE.scalar_subquery()), _CASES.c.id != bindparam("case_id"))
    .group_by(_CASES.c.id, _CASES.c.reference)
    .order_by(func.min(_CASES.c.created_at))
)


@dataclass(frozen=True)
class EarlierReport:
    """An earlier report that names one of the same senders."""

    case_id: str
    reference: str
    created_at: datetime


async def key(*, session: AsyncSession) -> bytes:
    """The register's HMAC key: made at random on first use, then the same for everyone."""
    values = {"name": KEY_NAME, "key": secrets.token_hex(32)}
    await session.execute(
        upsert(session, RegisterKey, values, conflict=("name",), update_values=None)
    )
    stored = await session.scalar(select(RegisterKey.key).where(RegisterKey.name == KEY_NAME))
    assert stored is not None
    return bytes.fromhex(stored)


async def record(*, session: AsyncSession, case_id: str, digests: Iterable[str]) -> None:
    """Remember the senders a report names (as hashes)."""
    for value in dict.fromkeys(digests):
        await session.execute(
            upsert(
                session,
                SenderHash,
                {"case_id": case_id, "digest": value, "created_at": utcnow()},
                conflict=("case_id", "digest"),
                update_values=None,
            )
        )


async def earlier_reports(*, session: AsyncSession, case_id: str) -> list[EarlierReport]:
    """Other reports naming any sender this one names, oldest first."""
    rows = (await session.execute(_EARLIER, {"case_id": case_id})).all()
    return [EarlierReport(row[0], row[1], row[2]) for row in rows]


async def count_others(*, session: AsyncSession, case_id: str) -> int:
    """How many other reports name any sender this one names (``len(earlier_reports())``)."""
    return int((await session.execute(_COUNT_OTHERS, {"case_id": case_id})).scalar_one())
