"""The outbox: messages to deliver, written in the same transaction as their cause.

"Store first, then tell": a service writes the state change and the outbox rows together,
and a delivery loop sends them afterwards with retries. If the process dies in between,
nothing is lost; if a worker dies mid-delivery, its lease runs out and another worker
claims the row again (so delivery is at least once; ``dedupe_key`` stops the same message
being queued twice). ``attempts`` counts claims, so a message that crashes its worker
every time still reaches the dead-letter limit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Exists, Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.repos import _common
from bot.storage.repos._common import dialect_insert, dialect_of, fresh, fresh_returning, to_row
from bot.storage.tables import OutboxMessage
from bot.storage.types import utcnow

PENDING = "pending"
SENT = "sent"
DEAD = "dead"
OPERATIONS = frozenset({"post", "update", "dm"})
# Any constant works, the same in every replica ("bot" "outb" in ASCII).
_CLAIM_LOCK_KEY = 0x626F74_6F757462


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A message to send: ``target`` is a ConversationRef or MessageRef JSON, ``card`` a card."""

    id: int
    platform: str
    operation: str
    target: dict[str, Any]
    card: dict[str, Any]
    case_id: str | None
    card_purpose: str | None
    dedupe_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    created_at: datetime
    sent_at: datetime | None
    message_id: str | None


async def enqueue(
    *,
    session: AsyncSession,
    platform: str,
    operation: str,
    target: dict[str, Any],
    card: dict[str, Any],
    case_id: str | None = None,
    card_purpose: str | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxRow | None:
    """Queue a message for delivery.

    Args:
        operation: ``"post"`` a new message, ``"update"`` one in place, or ``"dm"`` a person.
        card_purpose: when set (with ``case_id``), delivery records the posted message as
            that case's card of this purpose, so it can be updated later.
        dedupe_key: a second enqueue with the same key is ignored.
        not_before: delay the first attempt (default: now).

    Returns:
        The new row, or ``None`` when ``dedupe_key`` was already queued.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown outbox operation {operation!r}")
    now = utcnow()
    values = {
        "platform": platform,
        "operation": operation,
        "target": target,
        "card": card,
        "case_id": case_id,
        "card_purpose": card_purpose,
        "dedupe_key": dedupe_key,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
    }
    # The new row comes back from the INSERT itself: no second statement to read it.
    row = await session.scalar(_enqueue_statement(dialect_of(session)), values)
    return to_row(OutboxRow, row) if row is not None else None


@functools.cache
def _enqueue_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING *``, built once per dialect."""
    statement = dialect_insert(dialect, OutboxMessage)
    return fresh_returning(
        statement.on_conflict_do_nothing(index_elements=["dedupe_key"]), OutboxMessage
    )


async def get(*, session: AsyncSession, outbox_id: int) -> OutboxRow | None:
    """The outbox row with this id, or ``None``."""
    row = await session.scalar(fresh(select(OutboxMessage).where(OutboxMessage.id == outbox_id)))
    return to_row(OutboxRow, row) if row else None


async def claim_due(
    *, session: AsyncSession, now: datetime, worker_id: str, limit: int, lease_seconds: float
) -> list[OutboxRow]:
    """Lease up to ``limit`` due pending messages to ``worker_id`` for ``lease_seconds``.

    Commit right after claiming, then deliver: the lease, not an open transaction, is what
    keeps other workers away. Each claim counts as an attempt.

    A case card is held back while another rendering of it is leased to a worker: that
    worker may be posting it right now, and a second worker finding no posted card yet
    would post a second copy instead of updating the first. So that two claims cannot
    both miss each other's leases, on PostgreSQL card rows are claimed by one worker at a
    time (a transaction-scoped advisory lock, held for the milliseconds a claim takes); a
    worker that finds another mid-claim takes only plain messages this pass, skipping
    rather than waiting, and the cards on its next.
    """
    rows = await _common.claim_due(
        session,
        OutboxMessage,
        due=OutboxMessage.next_attempt_at,
        now=now,
        worker_id=worker_id,
        limit=limit,
        lease_seconds=lease_seconds,
        extra_values={"attempts": OutboxMessage.attempts + 1},
        also=await _claimable_cards(session, now),
    )
    return [to_row(OutboxRow, row) for row in rows]


async def _claimable_cards(session: AsyncSession, now: datetime) -> ColumnElement[bool]:
    """Plain messages, and case cards with no other rendering in flight if it is our turn."""
    plain = OutboxMessage.card_purpose.is_(None)
    if _common.dialect_of(session) == "postgresql":
        turn = await session.scalar(select(func.pg_try_advisory_xact_lock(_CLAIM_LOCK_KEY)))
        if not turn:
            return plain
    return or_(plain, ~_card_in_flight(now))


def _card_in_flight(now: datetime) -> Exists:
    """Another row for the same case card on the same platform is leased to a worker."""
    other = aliased(OutboxMessage)
    return (
        select(other.id)
        .where(
            other.case_id == OutboxMessage.case_id,
            other.card_purpose == OutboxMessage.card_purpose,
            other.platform == OutboxMessage.platform,
            other.id != OutboxMessage.id,
            other.status == PENDING,
            other.claimed_until >= now,
        )
        .exists()
    )


async def mark_sent(*, session: AsyncSession, outbox_id: int, message_id: str | None) -> bool:
    """Record a delivery and the platform's id for the message (Slack ``ts``, Teams id)."""
    return await _finish(
        session, outbox_id, status=SENT, sent_at=utcnow(), message_id=message_id, last_error=None
    )


async def mark_retry(
    *, session: AsyncSession, outbox_id: int, next_attempt_at: datetime, error: str
) -> bool:
    """Release a failed message to be tried again at ``next_attempt_at`` (back-off chosen by
    the caller, e.g. from Slack's ``Retry-After``)."""
    return await _finish(
        session, outbox_id, status=PENDING, next_attempt_at=next_attempt_at, last_error=error
    )


async def mark_dead(*, session: AsyncSession, outbox_id: int, error: str) -> bool:
    """Give up on a message (too many attempts, or a permanent error) and keep why."""
    return await _finish(session, outbox_id, status=DEAD, last_error=error)


async def _finish(session: AsyncSession, outbox_id: int, **values: Any) -> bool:
    statement = _finish_statement(tuple(sorted(values)))
    parameters = {f"new_{name}": value for name, value in values.items()}
    result = await session.execute(statement, {"row_id": outbox_id, **parameters})
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@functools.cache
def _finish_statement(columns: tuple[str, ...]) -> Any:
    """``UPDATE outbox SET <columns>, lease cleared WHERE id = ? AND status = 'pending'``.

    Built once for each set of columns a finish sets; the values are given when it runs.
    """
    table = cast(Table, OutboxMessage.__table__)
    new = {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns}
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.status == PENDING)
        .values(**new, claimed_by=None, claimed_until=None)
    )


async def pending_count(*, session: AsyncSession) -> int:
    """How many messages wait for delivery (for ``/metrics``)."""
    statement = select(func.count()).select_from(OutboxMessage)
    return int(await session.scalar(statement.where(OutboxMessage.status == PENDING)) or 0)


async def newer_card_exists(*, session: AsyncSession, row: OutboxRow) -> bool:
    """Whether a later row for the same case card and conversation is queued or sent.

    Delivering an older rendering after a newer one would put an old state (and old
    buttons) back on the card, so the delivery loop skips rows that have been overtaken.
    """
    statement = select(OutboxMessage.target).where(
        OutboxMessage.case_id == row.case_id,
        OutboxMessage.card_purpose == row.card_purpose,
        OutboxMessage.platform == row.platform,
        OutboxMessage.id > row.id,
        OutboxMessage.status.in_((PENDING, SENT)),
    )
    conversation = (row.target or {}).get("conversation_id")
    targets = (await session.scalars(statement)).all()
    return any((target or {}).get("conversation_id") == conversation for target in targets)
