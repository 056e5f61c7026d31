"""A case's timeline: append-only events chained by SHA-256 hashes.

The timeline is the record an organisation may have to show to an investigator, so it is
tamper-evident: each event stores the hash of the one before it and its own hash over that
``prev_hash`` plus the canonical JSON of the event. Changing, removing or reordering any
stored event breaks every hash after it, which :func:`verify_chain` detects. There is
deliberately no update or delete here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos._common import fresh, to_row
from bot.storage.tables import Case, CaseEvent
from bot.storage.types import utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class EventRow:
    """One timeline entry. ``internal`` entries are for handlers, not shown to the reporter."""

    id: int
    case_id: str
    seq: int
    at: datetime
    actor_key: str
    actor_name: str
    event: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]
    internal: bool
    prev_hash: str
    hash: str


def event_hash(
    *,
    prev_hash: str,
    case_id: str,
    seq: int,
    at: datetime,
    actor_key: str,
    actor_name: str,
    event: str,
    from_state: str | None,
    to_state: str | None,
    detail: dict[str, Any],
    internal: bool,
) -> str:
    """SHA-256 (hex) of ``prev_hash`` followed by the event's canonical JSON."""
    canonical = json.dumps(
        {
            "case_id": case_id,
            "seq": seq,
            "at": at.isoformat(),
            "actor_key": actor_key,
            "actor_name": actor_name,
            "event": event,
            "from_state": from_state,
            "to_state": to_state,
            "detail": detail,
            "internal": internal,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


async def append(
    *,
    session: AsyncSession,
    case_id: str,
    actor_key: str,
    actor_name: str,
    event: str,
    from_state: str | None,
    to_state: str | None,
    detail: dict[str, Any] | None = None,
    internal: bool = False,
) -> EventRow:
    """Add an event to the end of a case's timeline, numbering and hashing it.

    The case row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions are
    already exclusive) so two appends to one case cannot take the same ``seq``.

    Raises:
        LookupError: if there is no such case.
    """
    locked = await session.scalar(select(Case.id).where(Case.id == case_id).with_for_update())
    if locked is None:
        raise LookupError(f"no case {case_id!r}")
    last = await session.scalar(
        fresh(select(CaseEvent).where(CaseEvent.case_id == case_id))
        .order_by(CaseEvent.seq.desc())
        .limit(1)
    )
    seq = last.seq + 1 if last else 1
    prev_hash = last.hash if last else GENESIS_HASH
    fields: dict[str, Any] = {
        "case_id": case_id,
        "seq": seq,
        "at": utcnow(),
        "actor_key": actor_key,
        "actor_name": actor_name,
        "event": event,
        "from_state": from_state,
        "to_state": to_state,
        "detail": detail or {},
        "internal": internal,
    }
    row = CaseEvent(**fields, prev_hash=prev_hash, hash=event_hash(prev_hash=prev_hash, **fields))
    session.add(row)
    await session.flush()
    return to_row(EventRow, row)


async def timeline(
    *, session: AsyncSession, case_id: str, include_internal: bool = True
) -> list[EventRow]:
    """A case's events in order; without the internal ones when shown to the reporter."""
    statement = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if not include_internal:
        statement = statement.where(CaseEvent.internal.is_(False))
    rows = await session.scalars(fresh(statement.order_by(CaseEvent.seq)))
    return [to_row(EventRow, row) for row in rows]


async def first(*, session: AsyncSession, case_id: str) -> EventRow | None:
    """A case's first event (its submission), without reading the rest of the timeline."""
    statement = select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 1)
    row = await session.scalar(fresh(statement))
    return to_row(EventRow, row) if row else None


def verify_chain(events: Iterable[EventRow]) -> bool:
    """True if a complete timeline (internal events included) is intact and in order."""
    prev_hash = GENESIS_HASH
    for expected_seq, row in enumerate(events, start=1):
        recomputed = event_hash(
            prev_hash=prev_hash,
            case_id=row.case_id,
            seq=row.seq,
            at=row.at,
            actor_key=row.actor_key,
            actor_name=row.actor_name,
            event=row.event,
            from_state=row.from_state,
            to_state=row.to_state,
            detail=row.detail,
            internal=row.internal,
        )
        if row.seq != expected_seq or row.prev_hash != prev_hash or row.hash != recomputed:
            return False
        prev_hash = row.hash
    return True
