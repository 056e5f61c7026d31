"""The delivery loop: sends what the core queued in the outbox, with retries and back-off.

The core never calls a platform directly. It writes outbox rows in the same transaction as
the state change that caused them; this loop claims due rows (several replicas can run it:
claims are leases, taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sends each through
the platform's ``Messenger``, and marks it sent. A failure is retried with exponential
back-off (or after the ``Retry-After`` the platform gave) until it succeeds; only a
permanent failure, tried ``MAX_PERMANENT_ATTEMPTS`` times, is set aside as dead and logged.

Sends run side by side (up to ``MAX_IN_FLIGHT`` at once), and the loop claims more as they
finish, so one platform that hangs until its timeout holds up only its own messages. (With
every slot taken, the loop gives other sends up to ``CLAIM_GATHER`` to finish too before it
claims again: a claim costs the database about as much for one row as for sixteen.) A
send that gets no answer within ``SEND_DEADLINE`` is given up (and retried) well before its
lease runs out, so no other worker takes a row that is still being sent.

Case cards are one message per (case, purpose, conversation): the first row posts it and
records the message reference; later rows update it in place. When several rows for one
card are due together, only the newest is sent (``bot.delivery_plan``), so a card shows its
final state; renderings of one card are never sent at the same time.

Once the platform has accepted a message, the loop records that (the posted card's reference
and the "sent" mark, in one transaction) and keeps trying if the database is briefly busy:
the only way a message is sent twice is that the platform accepted it and the bot never
learned so (the answer was lost, or the process died first). See README "Reliability".
Marks are written at once, those of every send that finished meanwhile together; the rest
of the loop's database work takes turns, one transaction at a time, so the loop never
crowds out the requests people are waiting on (SQLite has one writer at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cards import card_from_json
from bot.delivery_plan import Planned, card_state, plan
from bot.messaging import DeliveryError, Messenger
from bot.model import ConversationRef, MessageRef, Platform
from bot.retries import BASE_DELAY, MAX_DELAY, backoff
from bot.storage.repos import cards as posted_cards
from bot.storage.repos import outbox

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_PERMANENT_ATTEMPTS = 5
LEASE_SECONDS = 60
SEND_DEADLINE = 45.0  # under the lease: a send still waiting is abandoned before it expires
BATCH = 50
MAX_IN_FLIGHT = 16  # sends at once: enough to ride out slow calls, few enough to spare SQLite
GATHER_ROOM = MAX_IN_FLIGHT // 2  # with every slot taken, claim again once this many are free,
CLAIM_GATHER = 0.02  # or this many seconds after the first finished, whichever comes first
DB_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)  # 16 s in all, well under the lease


def delivery_id(row: Any) -> str:
    """The name a message carries to say which outbox row sent it."""
    return f"outbox-{row.id}"


@dataclass(frozen=True)
class Sent:
    """What the platform answered: the message's id, and a new case card to record."""

    message_id: str
    new_card: MessageRef | None = None


class DeliveryLoop:
    """Claims due outbox rows and sends them.

    Args:
        db: the database session factory.
        messengers: one per platform that is on.
        clock: returns the current UTC time (tests pass a controllable one).
        idle_seconds: how long to sleep when nothing was due.

    ``base_delay`` (seconds before the first retry, doubling after) and ``max_delay`` (the
    most it grows to) may be lowered by a test that wants many retries quickly; a
    platform's ``Retry-After`` is always honoured.
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
        self._in_flight: set[asyncio.Task[None]] = set()
        self._cards: dict[tuple[Any, ...], asyncio.Task[None]] = {}
        self._turn = asyncio.Lock()
        self._to_mark: list[tuple[Any, Sent, asyncio.Future[None]]] = []
        self._marking: asyncio.Task[None] | None = None
        self.base_delay, self.max_delay = BASE_DELAY, MAX_DELAY
        self.delivered = 0

    @property
    def messengers(self) -> Mapping[Platform, Messenger]:
        """The messenger of each platform that is on."""
        return self._messengers

    def stop(self) -> None:
        """Finish the sends in hand, then return from ``run`` (a graceful shutdown)."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Ask the loop to look for due rows now (called after the core queued something)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped (or cancelled), claiming more as sends finish.

        When a claim took every row that was due, the loop sleeps until woken (something
        was queued) or ``idle_seconds`` pass (retries come due); when it was full, it claims
        again as soon as a send finishes.
        """
        try:
            while not self._stopping:
                self._wake.clear()
                room = MAX_IN_FLIGHT - len(self._in_flight)
                try:
                    claimed, _ = await self._start(limit=room)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery pass failed; trying again")
                    claimed = 0
                if self._stopping or (claimed == room and room > 0):
                    continue
                await self._wait_for_work(room_needed=room == 0)
            if self._in_flight:
                await asyncio.wait(self._in_flight)
        finally:
            for task in list(self._in_flight):
                task.cancel()

    @contextlib.asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """A database session for the loop's claims, lookups and retries, one at a time.

        The sends in flight take turns here (first come, first served) rather than in
        SQLite's lock queue, where waiters poll and a busy loop could starve the requests
        people are waiting on past Slack's three seconds. (Marks do not wait here.)
        """
        async with self._turn:
            if write:
                async with self._db.begin() as s:
                    yield s
            else:
                async with self._db() as s:
                    yield s

    async def run_once(self) -> int:
        """Claim one batch of due rows, send them and wait; return how many were handled."""
        claimed, tasks = await self._start(limit=BATCH)
        await asyncio.gather(*tasks)
        return claimed

    async def _wait_for_work(self, *, room_needed: bool) -> None:
        """Sleep until woken or ``idle_seconds`` pass; with ``room_needed`` (every send slot
        taken, more rows may be due), until a send finishes."""
        woken = asyncio.ensure_future(self._wake.wait())
        waiters: set[asyncio.Future[Any]] = {woken}
        if room_needed:
            waiters.update(self._in_flight)
        done, _ = await asyncio.wait(
            waiters, timeout=self._idle, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters:
            if waiter not in self._in_flight and waiter not in done:
                waiter.cancel()
        if room_needed and done and woken not in done:
            await self._gather_room()

    async def _gather_room(self) -> None:
        """After a send finished with every slot taken, let others that are about to finish
        do so (for ``CLAIM_GATHER`` at most) until ``GATHER_ROOM`` slots are free: a claim
        costs the database about as much for one row as for many, so under a backlog the
        loop claims several at a time rather than one per finished send."""
        deadline = asyncio.get_running_loop().time() + CLAIM_GATHER
        while len(self._in_flight) > MAX_IN_FLIGHT - GATHER_ROOM and not self._stopping:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await asyncio.wait(
                set(self._in_flight), timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )

    async def _start(self, *, limit: int) -> tuple[int, list[asyncio.Task[None]]]:
        """Claim up to ``limit`` due rows and start sending them, one task per message.

        In the claim's own transaction, each card's older renderings are marked superseded
        and the newest is looked up (overtaken already? posted where?), so a send costs
        the database one more transaction: its "sent" mark.
        """
        if limit <= 0:
            return 0, []
        async with self._session(write=True) as s:
            rows = await outbox.claim_due(
                session=s,
                now=self._clock(),
                worker_id=self._worker,
                limit=limit,
                lease_seconds=LEASE_SECONDS,
            )
            planned = await plan(s, rows)
        return len(rows), [self._spawn(each) for each in planned]

    def _spawn(self, planned: Planned) -> asyncio.Task[None]:
        """Send a row in its own task, after any send of the same card still in hand."""
        key, row = planned.key, planned.row
        earlier = self._cards.get(key)
        task = asyncio.create_task(self._deliver_card(row, planned.existing, after=earlier))
        self._in_flight.add(task)
        if key[0] == "card":
            self._cards[key] = task

        def done(finished: asyncio.Task[None]) -> None:
            self._in_flight.discard(finished)
            if self._cards.get(key) is finished:
                del self._cards[key]
            if not finished.cancelled() and finished.exception() is not None:
                log.error("delivery of outbox row %s failed", row.id)

        task.add_done_callback(done)
        return task

    async def _deliver_card(
        self, row: Any, existing: MessageRef | None, *, after: asyncio.Task[None] | None
    ) -> None:
        """Deliver ``row``; if another rendering of its card was still being sent, wait for
        it and look again (it may have been overtaken, or posted the card meanwhile)."""
        if after is not None:
            await asyncio.wait([after])
            overtaken, existing = await self._patiently(row, self._card_state, row)
            if overtaken:
                await self._finish(row, message_id="superseded")
                return
        await self._deliver(row, existing)

    async def _card_state(self, row: Any) -> tuple[bool, MessageRef | None]:
        async with self._session(write=False) as s:
            return await card_state(s, row)

    async def _patiently(
        self, row: Any, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> T:
        """Database work the loop must not drop half-way, tried again while the database is
        busy (SQLite under load can answer "database is locked"); the last failure raises.

        Giving up would leave the row leased, untouched for ``LEASE_SECONDS``.
        """
        for delay in DB_RETRY_DELAYS:
            try:
                return await work(*args, **kwargs)
            except Exception as error:
                log.warning("outbox row %s: %s failed (%r)", row.id, work.__name__, error)
                await asyncio.sleep(delay)
        return await work(*args, **kwargs)

    async def _deliver(self, row: Any, existing: MessageRef | None = None) -> None:
        messenger = self._messengers.get(Platform(row.platform))
        if messenger is None:
            await self._retry(row, DeliveryError(f"platform {row.platform} is off"))
            return
        try:
            async with asyncio.timeout(SEND_DEADLINE):
                sent = await self._send(messenger, row, existing)
        except DeliveryError as error:
            await self._retry(row, error)
        except TimeoutError:
            await self._retry(row, DeliveryError(f"no answer within {SEND_DEADLINE:.0f} s"))
        except Exception as error:  # a bug or an unexpected reply: keep the row, log loudly
            log.exception("delivery of outbox row %s failed unexpectedly", row.id)
            await self._retry(row, DeliveryError(repr(error)))
        else:
            await self._settle(row, sent)
            self.delivered += 1

    async def _send(self, messenger: Messenger, row: Any, existing: MessageRef | None) -> Sent:
        """Only the platform calls: nothing is written until the platform has answered.

        ``existing`` is where the row's case card was already posted: it is updated there.
        """
        card = card_from_json(row.card)
        name = delivery_id(row)
        if row.operation == "update":
            ref = MessageRef.from_json(row.target)
            await messenger.update(ref, card, delivery_id=name)
            return Sent(ref.message_id)
        target = ConversationRef.from_json(row.target)
        if row.operation == "dm":
            return Sent((await messenger.send_direct(target, card, delivery_id=name)).message_id)
        if row.case_id and row.card_purpose:
            if existing is not None:
                await messenger.update(existing, card, delivery_id=name)
                return Sent(existing.message_id)
            posted = await messenger.post(target, card, delivery_id=name)
            return Sent(posted.message_id, new_card=posted)
        return Sent((await messenger.post(target, card, delivery_id=name)).message_id)

    async def _settle(self, row: Any, sent: Sent) -> None:
        """Record an accepted message: the new card's reference and the "sent" mark together.

        Until this is written the message can be sent twice (README "Reliability"), so it is
        written as soon as it can be: the marks of every send that finished meanwhile go in
        one transaction, and a database busy for a moment is waited for. Only if it stays
        unusable past ``DB_RETRY_DELAYS`` is the row left to its lease (and that is logged).
        """
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_mark.append((row, sent, written))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_waiting())
        try:
            await written
        except Exception:
            log.exception(
                "outbox row %s was delivered but could not be marked sent; it will be sent "
                "again when its lease runs out",
                row.id,
            )

    async def _mark_waiting(self) -> None:
        """Write the waiting marks, a batch per transaction, until none wait."""
        while self._to_mark:
            batch, self._to_mark = self._to_mark, []
            try:
                await self._patiently(batch[0][0], self._mark_sent, batch)
            except Exception as error:
                for _, _, written in batch:
                    if not written.done():  # its send may have been cancelled (shutdown)
                        written.set_exception(error)
            else:
                for _, _, written in batch:
                    if not written.done():
                        written.set_result(None)

    async def _mark_sent(self, batch: list[tuple[Any, Sent, asyncio.Future[None]]]) -> None:
        # Not behind the loop's turn: one marking task at a time already, and marks first.
        async with self._db.begin() as s:
            for row, sent, _ in batch:
                if sent.new_card is not None:
                    await posted_cards.record_posted(
                        session=s,
                        case_id=row.case_id,
                        purpose=row.card_purpose,
                        message=sent.new_card,
                    )
            marks = [(row.id, sent.message_id) for row, sent, _ in batch]
            await outbox.mark_all_sent(session=s, sent=marks)

    async def _finish(self, row: Any, *, message_id: str) -> None:
        await self._settle(row, Sent(message_id))

    async def _retry(self, row: Any, error: DeliveryError) -> None:
        attempts = max(row.attempts or 0, 1)  # the claim counted this attempt
        if error.permanent and attempts >= MAX_PERMANENT_ATTEMPTS:
            log.error("outbox row %s set aside after %s attempts: %s", row.id, attempts, error)
            await self._patiently(row, self._set_aside, row, str(error))
            return
        wait = backoff(attempts, error.retry_after, base=self.base_delay, ceiling=self.max_delay)
        due = self._clock() + dt.timedelta(seconds=wait)
        log.warning(
            "outbox row %s failed (attempt %s), next at %s: %s",
            row.id,
            attempts,
            due.isoformat(),
            error,
        )
        await self._patiently(row, self._release, row, due, str(error)[:500])

    async def _set_aside(self, row: Any, error: str) -> None:
        async with self._session(write=True) as s:
            await outbox.mark_dead(session=s, outbox_id=row.id, error=error)

    async def _release(self, row: Any, due: dt.datetime, error: str) -> None:
        async with self._session(write=True) as s:
            await outbox.mark_retry(session=s, outbox_id=row.id, next_attempt_at=due, error=error)
