"""The delivery loop: sends what the core queued in the outbox, with retries and back-off.

The core never calls a platform directly. It writes outbox rows in the same transaction as
the state change that caused them; this loop claims due rows (several replicas can run it:
claims are leases, taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sends each through
the platform's ``Messenger``, and marks it sent. A failure is retried with exponential
back-off (or after the ``Retry-After`` the platform gave) until it succeeds; only a
permanent failure, tried ``MAX_PERMANENT_ATTEMPTS`` times, is set aside as dead and logged.

Case cards are one message per (case, purpose, conversation): the first row posts it and
records the message reference; later rows update it in place. When several rows for one
card are due together, only the newest is sent, so a card shows its final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cards import card_from_json
from bot.messaging import DeliveryError, Messenger
from bot.model import ConversationRef, MessageRef, Platform
from bot.storage.repos import cards as posted_cards
from bot.storage.repos import outbox

log = logging.getLogger(__name__)

BASE_DELAY = 1.0
MAX_DELAY = 300.0
MAX_PERMANENT_ATTEMPTS = 5
LEASE_SECONDS = 60
BATCH = 50


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempts + 1``: the platform's word, else exponential.

    Jitter spreads retries of many rows so they do not arrive at the platform together.
    """
    if retry_after is not None:
        return max(float(retry_after), 0.0)
    delay = min(MAX_DELAY, BASE_DELAY * (2 ** max(attempts - 1, 0)))
    return delay * (0.5 + random.random() / 2)


class DeliveryLoop:
    """Claims due outbox rows and sends them.

    Args:
        db: the database session factory.
        messengers: one per platform that is on.
        clock: returns the current UTC time (tests pass a controllable one).
        idle_seconds: how long to sleep when nothing was due.
    """

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        messengers: Mapping[Platform, Messenger],
        clock: Callable[[], dt.datetime] | None = None,
        idle_seconds: float = 0.2,
    ) -> None:
        self._db = db
        self._messengers = dict(messengers)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._idle = idle_seconds
        self._worker = f"delivery-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered = 0

    def stop(self) -> None:
        """Finish the pass in hand, then return from ``run`` (a graceful shutdown)."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Ask the loop to look for due rows now (called after the core queued something)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped (or cancelled)."""
        while not self._stopping:
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery pass failed; trying again")
                sent = 0
            if sent == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle)

    async def run_once(self) -> int:
        """Claim one batch of due rows and send them; return how many were handled."""
        async with self._db.begin() as s:
            rows = await outbox.claim_due(
                session=s,
                now=self._clock(),
                worker_id=self._worker,
                limit=BATCH,
                lease_seconds=LEASE_SECONDS,
            )
        if not rows:
            return 0
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            groups.setdefault(_card_key(row), []).append(row)
        await asyncio.gather(*(self._deliver_group(group) for group in groups.values()))
        return len(rows)

    async def _deliver_group(self, rows: list[Any]) -> None:
        """Rows for one card: send the newest, mark the older ones superseded."""
        rows.sort(key=lambda r: r.id)
        if rows[0].card_purpose:
            for stale in rows[:-1]:
                await self._finish(stale.id, message_id="superseded")
            rows = rows[-1:]
        for row in rows:
            if row.card_purpose and await self._overtaken(row):
                await self._finish(row.id, message_id="superseded")
                continue
            await self._deliver(row)

    async def _overtaken(self, row: Any) -> bool:
        async with self._db() as s:
            return await outbox.newer_card_exists(session=s, row=row)

    async def _deliver(self, row: Any) -> None:
        messenger = self._messengers.get(Platform(row.platform))
        if messenger is None:
            await self._retry(row, DeliveryError(f"platform {row.platform} is off"))
            return
        try:
            message_id = await self._send(messenger, row)
        except DeliveryError as error:
            await self._retry(row, error)
        except Exception as error:  # a bug or an unexpected reply: keep the row, log loudly
            log.exception("delivery of outbox row %s failed unexpectedly", row.id)
            await self._retry(row, DeliveryError(repr(error)))
        else:
            await self._finish(row.id, message_id=message_id)
            self.delivered += 1

    async def _send(self, messenger: Messenger, row: Any) -> str:
        card = card_from_json(row.card)
        if row.operation == "update":
            ref = MessageRef.from_json(row.target)
            await messenger.update(ref, card)
            return ref.message_id
        target = ConversationRef.from_json(row.target)
        if row.operation == "dm":
            return (await messenger.send_direct(target, card)).message_id
        if row.case_id and row.card_purpose:
            return await self._post_or_update_card(messenger, row, target, card)
        return (await messenger.post(target, card)).message_id

    async def _post_or_update_card(
        self, messenger: Messenger, row: Any, target: ConversationRef, card: Any
    ) -> str:
        async with self._db() as s:
            posted = await posted_cards.list_posted(
                session=s, case_id=row.case_id, purpose=row.card_purpose
            )
        existing = _matching(posted, row.platform, target.conversation_id)
        if existing is not None:
            ref = MessageRef.from_json(
                {"conversation": existing.conversation, "message_id": existing.message_id}
            )
            await messenger.update(ref, card)
            return str(existing.message_id)
        ref = await messenger.post(target, card)
        async with self._db.begin() as s:
            await posted_cards.record_posted(
                session=s, case_id=row.case_id, purpose=row.card_purpose, message=ref
            )
        return ref.message_id

    async def _finish(self, outbox_id: int, *, message_id: str) -> None:
        async with self._db.begin() as s:
            await outbox.mark_sent(session=s, outbox_id=outbox_id, message_id=message_id)

    async def _retry(self, row: Any, error: DeliveryError) -> None:
        attempts = max(row.attempts or 0, 1)  # the claim counted this attempt
        async with self._db.begin() as s:
            if error.permanent and attempts >= MAX_PERMANENT_ATTEMPTS:
                log.error("outbox row %s set aside after %s attempts: %s", row.id, attempts, error)
                await outbox.mark_dead(session=s, outbox_id=row.id, error=str(error))
                return
            due = self._clock() + dt.timedelta(seconds=backoff(attempts, error.retry_after))
            log.warning(
                "outbox row %s failed (attempt %s), next at %s: %s",
                row.id,
                attempts,
                due.isoformat(),
                error,
            )
            await outbox.mark_retry(
                session=s, outbox_id=row.id, next_attempt_at=due, error=str(error)[:500]
            )


def _card_key(row: Any) -> tuple[Any, ...]:
    if row.case_id and row.card_purpose and row.operation == "post":
        conversation = (row.target or {}).get("conversation_id", "")
        return ("card", row.case_id, row.card_purpose, row.platform, conversation)
    return ("row", row.id)


def _matching(posted: Iterable[Any], platform: str, conversation_id: str) -> Any:
    for card in posted:
        if card.platform == platform and card.conversation_id == conversation_id:
            return card
    return None
