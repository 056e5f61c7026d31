"""A case's timeline: append-only events chained by SHA-256 hashes.

The timeline is the record an organisation may have to show to an investigator, so it is
tamper-evident: each event stores the hash of the one before it and its own hash over that
``prev_hash`` plus the canonical JSON of the event. Changing, removing or reordering any
stored event breaks every hash after it, which :func:`verify_chain` detects. The case row
keeps the chain's head (the last event's number and hash), and each append continues from
that head rather than from whatever event is last now, so an event cut off the end is a gap
too (``python -m bot audit verify`` in :mod:`bot.records.audit` names it). There is
deliberately no update or delete here; a purge under the retention rules deletes a case's
timeline whole, with the case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos._common import to_row
from bot.storage.tables import GENESIS_HASH, Case, CaseEvent
from bot.storage.types import utcnow


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


# Built once, plain Core: the values are given when they run (every press appends).
_EVENTS = cast(sa.Table, CaseEvent.__table__)
_CASES = cast(sa.Table, Case.__table__)
_APPEND = sa.insert(_EVENTS).returning(_EVENTS.c.id)
_HEAD = (
    select(_CASES.c.chain_seq, _CASES.c.chain_hash)
    .where(_CASES.c.id == sa.bindparam("case_id"))
    .with_for_update()
)
_MOVE_HEAD = (
    sa.update(_CASES)
    .where(_CASES.c.id == sa.bindparam("case_id"))
    .values(chain_seq=sa.bindparam("seq"), chain_hash=sa.bindparam("hash"))
)
_TIMELINE = (
    select(_EVENTS).where(_EVENTS.c.case_id == sa.bindparam("case_id")).order_by(_EVENTS.c.seq)
)
_SHOWN_TIMELINE = _TIMELINE.where(_EVENTS.c.internal.is_(False))
_FIRST = select(_EVENTS).where(_EVENTS.c.case_id == sa.bindparam("case_id"), _EVENTS.c.seq == 1)


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
    already exclusive) so two appends to one case cannot take the same ``seq``. The event
    follows the head stored on the case, which then moves on to it.

    Raises:
        LookupError: if there is no such case.
    """
    head = (await session.execute(_HEAD, {"case_id": case_id})).first()
    if head is None:
        raise LookupError(f"no case {case_id!r}")
    seq = head.chain_seq + 1
    prev_hash = head.chain_hash
    fields: dict[str, Any] = {
        "case_id": case_id,
        "seq": seq,
        "at": utcnow(),
        "actor_key": actor_key,
        "actor_name": actor_name,
        "event": event,
        "from_state": from_state,
        "to_state": to_state,
        "detail": dict(detail or {}),  # the caller's dict stays the caller's
        "internal": internal,
    }
    fields["prev_hash"] = prev_hash
    fields["hash"] = event_hash(**fields)
    # Only the new id comes back: the rest is what was just written (nothing to re-read).
    event_id = (await session.execute(_APPEND, fields)).scalar_one()
    # Not an update of the timeline: the case row's pointer to its end moves on.
    await session.execute(_MOVE_HEAD, {"case_id": case_id, "seq": seq, "hash": fields["hash"]})
    return EventRow(id=event_id, **fields)


async def timeline(
    *, session: AsyncSession, case_id: str, include_internal: bool = True
) -> list[EventRow]:
    """A case's events in order; without the internal ones when shown to the reporter."""
    statement = _TIMELINE if include_internal else _SHOWN_TIMELINE
    rows = await session.execute(statement, {"case_id": case_id})
    return [to_row(EventRow, row) for row in rows]


async def first(*, session: AsyncSession, case_id: str) -> EventRow | None:
    """A case's first event (its submission), without reading the rest of the timeline."""
    row = (await session.execute(_FIRST, {"case_id": case_id})).first()
    return to_row(EventRow, row) if row else None


def rehash(row: EventRow, *, prev_hash: str | None = None) -> str:
    """The hash ``row``'s stored contents should have, linked to ``prev_hash`` (by default
    the link the row itself stores)."""
    return event_hash(
        prev_hash=row.prev_hash if prev_hash is None else prev_hash,
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


def verify_chain(events: Iterable[EventRow]) -> bool:
    """True if a complete timeline (internal events included) is intact and in order."""
    prev_hash = GENESIS_HASH
    for expected_seq, row in enumerate(events, start=1):
        recomputed = rehash(row, prev_hash=prev_hash)
        if row.seq != expected_seq or row.prev_hash != prev_hash or row.hash != recomputed:
            return False
        prev_hash = row.hash
    return True


@dataclass(frozen=True, slots=True)
class ChainHead:
    """A case's reference and the head of its timeline as the case row records it."""

    case_id: str
    reference: str
    seq: int
    hash: str


async def heads(
    *,
    session: AsyncSession,
    reference: str | None = None,
    case_ids: Sequence[str] | None = None,
    hold: bool = False,
) -> list[ChainHead]:
    """Cases' chain heads, by case id: all of them, one by reference, or those listed.

    Args:
        hold: lock the case rows ``FOR SHARE`` (PostgreSQL) until the transaction ends, so
            no event can be appended to them while their timelines are read.
    """
    statement = select(Case.id, Case.reference, Case.chain_seq, Case.chain_hash)
    if reference is not None:
        statement = statement.where(Case.reference == reference)
    if case_ids is not None:
        statement = statement.where(Case.id.in_(list(case_ids)))
    if hold:
        statement = statement.with_for_update(read=True)
    rows = await session.execute(statement.order_by(Case.id))
    return [ChainHead(r.id, r.reference, r.chain_seq, r.chain_hash) for r in rows]


async def stream_all(
    *, session: AsyncSession, case_ids: Sequence[str] | None = None, batch: int = 1000
) -> AsyncIterator[EventRow]:
    """Every event (or those of the cases listed), by case id then number, in batches.

    For walking every chain without holding the whole table in memory: plain rows, not
    ORM objects, so nothing piles up in the session.
    """
    table = CaseEvent.__table__
    statement = select(table).order_by(table.c.case_id, table.c.seq)
    if case_ids is not None:
        statement = statement.where(table.c.case_id.in_(list(case_ids)))
    result = await session.stream(statement.execution_options(yield_per=batch))
    async for row in result:
        yield to_row(EventRow, row)
