"""The register of approved sites: add a presence when a case is approved, list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import Actor
from bot.storage.repos._common import fresh, new_id, to_row
from bot.storage.tables import Presence


@dataclass(frozen=True)
class PresenceRow:
    """One approved presence."""

    id: str
    case_id: str
    platform: str
    name_or_url: str
    owner_key: str
    owner: dict[str, Any]
    approved_by: str
    approved_at: datetime
    review_at: datetime


async def add(
    *,
    session: AsyncSession,
    case_id: str,
    platform: str,
    name_or_url: str,
    owner: Actor,
    approved_by: str,
    approved_at: datetime,
    review_at: datetime,
) -> PresenceRow:
    """Register an approved presence (one per case)."""
    row = Presence(
        id=new_id(),
        case_id=case_id,
        platform=platform,
        name_or_url=name_or_url,
        owner_key=owner.key,
        owner=owner.to_json(),
        approved_by=approved_by,
        approved_at=approved_at,
        review_at=review_at,
    )
    session.add(row)
    await session.flush()
    return to_row(PresenceRow, row)


async def for_case(*, session: AsyncSession, case_id: str) -> PresenceRow | None:
    """The presence a case's approval registered, if any."""
    row = await session.scalar(fresh(select(Presence).where(Presence.case_id == case_id)))
    return to_row(PresenceRow, row) if row else None


async def list_all(*, session: AsyncSession) -> list[PresenceRow]:
    """Every approved presence, by review date."""
    rows = await session.scalars(fresh(select(Presence).order_by(Presence.review_at)))
    return [to_row(PresenceRow, row) for row in rows]
