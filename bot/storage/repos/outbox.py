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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos import _common
from bot.storage.repos._common import (
    dialect_insert,
    dialect_of,
    fresh,
    new_values,
    set_from_parameters,
    to_row,
)
from bot.storage.tables import OutboxMessage
from bot.storage.types import utcnow

PENDING = "pending"
SENT = "sent"
DEAD = "dead"
OPERATIONS = frozenset({"post", "update", "dm"})
# Any constant works, the same in every replica ("bot" "outb" in ASCII).
_CLAIM_LOCK_KEY = 0x626F74_6F757462
_OUTBOX = cast(Table, OutboxMessage.__table__)


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
    row = (await session.execute(_enqueue_statement(dialect_of(session)), values)).first()
    return to_row(OutboxRow, row) if row is not None else None


@functools.cache
def _enqueue_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING *``, built once per dialect.

    Plain Core returning a row, not an ORM object: every press queues one or two messages.
    """
    statement = dialect_insert(dialect, OutboxMessage)
    on_conflict = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    return on_conflict.returning(*statement.table.c)


async def get(*, session: AsyncSession, outbox_id: int) -> OutboxRow | None:
    """The outbox row with this id, or ``None``."""
    row = await session.scalar(fresh(select(OutboxMessage).where(OutboxMessage.id == outbox_id)))
    return to_row(OutboxRow, row) if row else None


async def claim_due(
    *, session: AsyncSession, now: datetime, worker_id: str, limit: int, lease_seconds: float
) -> list[OutboxRow]:
    """Lease up to ``limit`` due pending messages to ``worker_id`` for ``lease_seconds``.

    Commit right after claiming, then deliver: the lease, not an open transaction, is what
    keeps other workers away. Each claim counts as an attempt. Returns the claimed rows,
    oldest due first.

    A case card is held back while another rendering of it is leased to a worker: that
    worker may be posting it right now, and a second worker finding no posted card yet
    would post a second copy instead of updating the first. So that two claims cannot
    both miss each other's leases, on PostgreSQL card rows are claimed by one worker at a
    time (a transaction-scoped advisory lock, held for the milliseconds a claim takes); a
    worker that finds another mid-claim takes only plain messages this pass, skipping
    rather than waiting, and the cards on its next.

    PostgreSQL picks rows with ``FOR UPDATE SKIP LOCKED`` so concurrent workers skip each
    other's rows instead of queueing; SQLite has one writer at a time, so a single
    ``UPDATE … WHERE id IN (…) RETURNING`` is already exclusive. The statements are built
    once (``_claim_statements``); only their values change from claim to claim.
    """
    dialect = dialect_of(session)
    cards = True
    if dialect == "postgresql":
        cards = bool(await session.scalar(_claim_turn_statement()))
    rows = await _common.run_claim(
        session,
        _claim_statements(dialect, cards),
        due="next_attempt_at",
        now=now,
        worker_id=worker_id,
        limit=limit,
        lease_seconds=lease_seconds,
    )
    return [to_row(OutboxRow, row) for row in rows]


@functools.cache
def _claim_turn_statement() -> Any:
    """PostgreSQL: ``SELECT pg_try_advisory_xact_lock(…)``, the card claimers' turn."""
    return select(func.pg_try_advisory_xact_lock(_CLAIM_LOCK_KEY))


@functools.cache
def _claim_statements(dialect: str, cards: bool) -> tuple[Any, Any]:
    """The claim, built once per dialect; ``cards``: case cards may be claimed (our turn)."""
    return _common.claim_statements(
        _OUTBOX,
        due="next_attempt_at",
        dialect=dialect,
        lease={"attempts": _OUTBOX.c.attempts + 1},
        also=_claimable_cards if cards else lambda _: _OUTBOX.c.card_purpose.is_(None),
    )


def _claimable_cards(now: Any) -> ColumnElement[bool]:
    """Plain messages, and case cards with no other rendering in flight.

    A rendering is in flight when another row for the same case card on the same platform
    is leased to a worker: one look-up in ``ix_outbox_case_id_card_purpose_platform`` per
    candidate. A candidate is itself never leased (it is claimable only once its lease is
    over), so "another row" needs no ``id`` comparison.
    """
    c = _OUTBOX.c
    other = _OUTBOX.alias("in_flight")
    in_flight = (
        select(other.c.id)
        .where(
            other.c.case_id == c.case_id,
            other.c.card_purpose == c.card_purpose,
            other.c.platform == c.platform,
            other.c.status == PENDING,
            other.c.claimed_until >= now,
        )
        .exists()
    )
    return or_(c.card_purpose.is_(None), ~in_flight)


async def mark_sent(*, session: AsyncSession, outbox_id: int, message_id: str | None) -> bool:
    """Record a delivery and the platform's id for the message (Slack ``ts``, Teams id)."""
    return await _finish(
        session, outbox_id, status=SENT, sent_at=utcnow(), message_id=message_id, last_error=None
    )


async def mark_all_sent(*, session: AsyncSession, sent: Sequence[tuple[int, str | None]]) -> None:
    """``mark_sent`` for each ``(outbox_id, message_id)``, in one statement run for them all.

    A row no longer pending (another worker finished it) is left as it is, as by
    ``mark_sent``.
    """
    if not sent:
        return
    now = utcnow()
    values = {"status": SENT, "sent_at": now, "last_error": None}
    parameters = new_values(values)
    statement = _finish_statement(tuple(sorted([*values, "message_id"])))
    await session.execute(
        statement,
        [
            {"row_id": outbox_id, "new_message_id": message_id, **parameters}
            for outbox_id, message_id in sent
        ],
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
    result = await session.execute(statement, {"row_id": outbox_id, **new_values(values)})
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@functools.cache
def _finish_statement(columns: tuple[str, ...]) -> Any:
    """``UPDATE outbox SET <columns>, lease cleared WHERE id = ? AND status = 'pending'``.

    Built once for each set of columns a finish sets; the values are given when it runs.
    """
    table = _OUTBOX
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.status == PENDING)
        .values(**set_from_parameters(table, columns), claimed_by=None, claimed_until=None)
    )


async def pending_count(*, session: AsyncSession) -> int:
    """How many messages wait for delivery (for ``/metrics``)."""
    statement = select(func.count()).select_from(OutboxMessage)
    return int(await session.scalar(statement.where(OutboxMessage.status == PENDING)) or 0)


async def overtaken(*, session: AsyncSession, rows: Sequence[OutboxRow]) -> set[int]:
    """The ids of ``rows`` with a later row for the same case card and conversation queued
    or sent.

    Delivering an older rendering after a newer one would put an old state (and old
    buttons) back on the card, so the delivery loop skips rows that have been overtaken.
    One query (a second when some of the rows belong to no case) reads only the renderings
    of these rows' cards queued after the oldest of ``rows``
    (``ix_outbox_case_id_card_purpose_platform``), however long the outbox's history; the
    rest of the test is done here.
    """
    if not rows:
        return set()
    after = min(row.id for row in rows)
    cases = sorted({row.case_id for row in rows if row.case_id is not None})
    later: list[Any] = []
    if cases:
        later += await session.execute(_later_statement(True), {"after": after, "cases": cases})
    if any(row.case_id is None for row in rows):  # ``IS NULL`` is no value in a list
        later += await session.execute(_later_statement(False), {"after": after})
    # The newest rendering queued (or sent) of each card in each conversation.
    newest: dict[tuple[Any, ...], int] = {}
    for other in later:
        if other.status in (PENDING, SENT):
            key = _rendering_of(other)
            newest[key] = max(newest.get(key, 0), other.id)
    found: set[int] = set()
    for row in rows:
        if newest.get(_rendering_of(row), 0) > row.id:
            found.add(row.id)
    return found


def _rendering_of(row: Any) -> tuple[Any, ...]:
    """Which card, in which conversation, an outbox row renders."""
    conversation = (row.target or {}).get("conversation_id")
    return (row.case_id, row.card_purpose, row.platform, conversation)


@functools.cache
def _later_statement(with_case: bool) -> Any:
    """Rows queued after ``after`` for the ``cases`` (``with_case``) or for no case, built once.

    No condition on ``status``: its index could lead SQLite through every row ever sent
    instead of the cases' own rows in ``ix_outbox_case_id_card_purpose_platform``.
    """
    c = _OUTBOX.c
    case = c.case_id.in_(bindparam("cases", expanding=True)) if with_case else c.case_id.is_(None)
    return select(c.id, c.case_id, c.card_purpose, c.platform, c.status, c.target).where(
        case,
        c.id > bindparam("after", type_=c.id.type),  # 64-bit on PostgreSQL
    )
