"""The races replicas can run into between claiming work and doing it, made to happen on
purpose on PostgreSQL.

A row lock held by the test stands in for the other replica's transaction, and the test
waits until PostgreSQL reports the loops blocked on it before letting go, so each race
happens in the same order every run:

* a reminder whose lease ran out under a stalled replica is claimed by a second one: it
  still fires once;
* a press cancels a reminder after a loop claimed it: it stays silent;
* while one worker may be posting a case card, no other worker takes a newer rendering of
  the same card (it would find no posted card yet and post a second copy).

And four upgrades of an empty database at once (replicas starting together) take turns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cases.triage import TRIAGE_PURPOSE
from bot.model import Actor, ConversationRef, Platform
from bot.policy import load_default_pack
from bot.reminders import plans
from bot.reminders.scheduler import LEASE_SECONDS, ReminderLoop
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import cards, cases, events, outbox, reminders
from bot.storage.tables import OutboxMessage, Reminder
from tests.e2e.teams_support import eventually_async

Sessions = async_sessionmaker[AsyncSession]
PACK = load_default_pack()
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # in working hours in London
CHANNEL = ConversationRef(Platform.SLACK, conversation_id="C0TRIAGE")


@pytest.fixture
async def db(fresh_postgres_url: str) -> AsyncIterator[Sessions]:
    """A migrated database of its own; the loops run in this process, one per "replica"."""
    await migrate.upgrade(fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    yield session_factory(engine)
    await engine.dispose()


async def unacknowledged_report(db: Sessions) -> cases.CaseRow:
    """A new report whose "not yet acknowledged" reminder is due, the triage channel bound."""
    reporter = Actor(Platform.SLACK, "U0REPORTER", "Rae Porter")
    async with db.begin() as s:
        await cards.bind_channel(
            session=s,
            purpose=TRIAGE_PURPOSE,
            platform="slack",
            conversation=CHANNEL,
            bound_by="slack:U0ADMIN",
        )
        reference = await cases.next_reference(session=s, prefix="AB", year=2026)
        case = await cases.create(
            session=s,
            kind="abuse_report",
            reference=reference,
            state="new",
            reporter=reporter,
            data={},
        )
        await plans.schedule(s, plans.UNACKNOWLEDGED, case, MONDAY_10 - dt.timedelta(minutes=1))
    return case


def loop(db: Sessions, now: dt.datetime) -> ReminderLoop:
    """One replica's reminder loop, its clock standing at ``now``."""
    return ReminderLoop(db=db, pack=PACK, clock=lambda: now, on_queued=lambda: None)


async def blocked_on_locks(db: Sessions, count: int) -> None:
    """Wait until ``count`` other transactions are waiting for a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    async def waiting() -> bool:
        async with db() as s:
            return int(await s.scalar(query) or 0) >= count

    await eventually_async(waiting, within=10)


async def what_fired(db: Sessions, case_id: str) -> tuple[list[str], list[str], list[str]]:
    """The case's reminder lines, its reminders as ``kind:status``, and reminder messages."""
    async with db() as s:
        timeline = await events.timeline(session=s, case_id=case_id)
        rows = (await s.scalars(select(Reminder).where(Reminder.case_id == case_id))).all()
        sent = await s.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("reminder:%"))
        )
        return (
            [e.event for e in timeline if e.event == "reminder"],
            sorted(f"{r.kind}:{r.status}" for r in rows),
            list(sent.all()),
        )


async def test_a_reminder_claimed_again_after_its_lease_ran_out_fires_once(db: Sessions) -> None:
    case = await unacknowledged_report(db)
    stalled, other = (
        loop(db, MONDAY_10),
        loop(db, MONDAY_10 + dt.timedelta(seconds=LEASE_SECONDS + 1)),
    )
    async with db.begin() as other_work:  # another transaction on the case holds it a while
        await cases.get_locked(session=other_work, case_id=case.id)
        first = asyncio.create_task(stalled.run_once())
        await blocked_on_locks(db, 1)  # claimed, and stuck before firing
        second = asyncio.create_task(other.run_once())  # the lease has run out for this one
        await blocked_on_locks(db, 2)
    fired = await asyncio.gather(first, second)
    lines, rows, sent = await what_fired(db, case.id)
    assert sorted(fired) == [0, 1]
    assert lines == ["reminder"], "one line on the timeline"
    assert rows == ["unacknowledged:fired", "unacknowledged_escalation:pending"]
    assert len(sent) == 1, "one message to the triage channel"


async def test_a_reminder_cancelled_after_it_was_claimed_stays_silent(db: Sessions) -> None:
    case = await unacknowledged_report(db)
    replica = loop(db, MONDAY_10)
    async with db.begin() as press:  # a manager acknowledges at the moment the loop claims
        await cases.get_locked(session=press, case_id=case.id)
        firing = asyncio.create_task(replica.run_once())
        await blocked_on_locks(db, 1)
        assert await cases.update(
            session=press, case_id=case.id, expected_version=1, state="acknowledged"
        )
        await reminders.cancel(session=press, case_id=case.id, kind=plans.UNACKNOWLEDGED)
    assert await firing == 0
    lines, rows, sent = await what_fired(db, case.id)
    assert (lines, rows, sent) == ([], ["unacknowledged:cancelled"], [])


async def queue_card(db: Sessions, case_id: str, version: int) -> int:
    """Queue rendering ``version`` of the case's triage card, as a press does."""
    async with db.begin() as s:
        row = await outbox.enqueue(
            session=s,
            platform="slack",
            operation="post",
            target=CHANNEL.to_json(),
            card={"title": f"version {version}", "elements": []},
            case_id=case_id,
            card_purpose=TRIAGE_PURPOSE,
            dedupe_key=f"{TRIAGE_PURPOSE}:{case_id}:{version}",
            not_before=MONDAY_10,
        )
    assert row is not None
    return row.id


async def claim(db: Sessions, worker: str, now: dt.datetime = MONDAY_10) -> list[int]:
    async with db.begin() as s:
        rows = await outbox.claim_due(
            session=s, now=now, worker_id=worker, limit=50, lease_seconds=60
        )
    return [row.id for row in rows]


async def test_a_card_is_not_claimed_while_another_rendering_of_it_is_in_flight(
    db: Sessions,
) -> None:
    case = await unacknowledged_report(db)
    first = await queue_card(db, case.id, 1)
    assert await claim(db, "replica-1") == [first], "replica 1 is posting the card"
    second = await queue_card(db, case.id, 2)  # a press while the post is in flight
    assert await claim(db, "replica-2") == [], "no second post of the same card"
    async with db.begin() as s:
        await outbox.mark_sent(session=s, outbox_id=first, message_id="1700000000.000001")
    assert await claim(db, "replica-2") == [second], "then it is updated in place"


async def test_a_card_whose_worker_died_is_claimable_after_the_lease(db: Sessions) -> None:
    case = await unacknowledged_report(db)
    first = await queue_card(db, case.id, 1)
    assert await claim(db, "crashed") == [first]
    second = await queue_card(db, case.id, 2)
    later = MONDAY_10 + dt.timedelta(seconds=61)
    assert sorted(await claim(db, "replica-2", later)) == [first, second], (
        "both renderings, to one worker, which sends only the newest"
    )


async def test_a_claim_in_progress_is_skipped_not_waited_for(db: Sessions) -> None:
    """Card claims take turns; a worker that finds another mid-claim takes plain messages."""
    case = await unacknowledged_report(db)
    card = await queue_card(db, case.id, 1)
    async with db.begin() as s:
        plain = await outbox.enqueue(
            session=s,
            platform="slack",
            operation="dm",
            target={"platform": "slack", "user_id": "U0MANAGER"},
            card={"title": "a direct message", "elements": []},
            not_before=MONDAY_10,
        )
    assert plain is not None
    async with db() as mid_claim, mid_claim.begin():
        assert (
            await outbox.claim_due(
                session=mid_claim, now=MONDAY_10, worker_id="replica-1", limit=0, lease_seconds=60
            )
            == []
        )
        assert await asyncio.wait_for(claim(db, "replica-2"), timeout=5) == [plain.id]
    assert await claim(db, "replica-2") == [card]


async def test_upgrades_started_together_on_a_fresh_database_take_turns(
    fresh_postgres_url: str,
) -> None:
    """Four replicas starting at once each migrate first: one does, the others find it done."""
    upgrades = asyncio.gather(*(migrate.upgrade(fresh_postgres_url) for _ in range(4)))
    await asyncio.wait_for(upgrades, timeout=60)  # without the lock they collide, or hang
    engine = create_engine(fresh_postgres_url)
    try:
        assert await migrate.is_current(engine)
        async with engine.connect() as connection:
            versions = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).all()
    finally:
        await engine.dispose()
    assert len(versions) == 1
