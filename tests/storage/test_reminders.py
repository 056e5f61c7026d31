"""Reminders: scheduled once per key, rescheduled while pending, claimed and fired once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.repos import cases, reminders

Sessions = async_sessionmaker[AsyncSession]
MakeCase = Callable[..., Awaitable[cases.CaseRow]]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _claim(sessions: Sessions, worker: str, now: datetime) -> list[reminders.ReminderRow]:
    async with sessions() as session, session.begin():
        return await reminders.claim_due(
            session=session, now=now, worker_id=worker, limit=10, lease_seconds=30
        )


async def test_schedule_is_an_upsert_that_moves_a_pending_reminder(
    make_case: MakeCase, sessions: Sessions
) -> None:
    case = await make_case()
    async with sessions() as session, session.begin():
        first = await reminders.schedule(
            session=session,
            kind="check_in",
            due_at=NOW + timedelta(days=2),
            dedupe_key=f"check_in:{case.id}",
            case_id=case.id,
            subject={"case_id": case.id},
        )
        moved = await reminders.schedule(
            session=session,
            kind="check_in",
            due_at=NOW + timedelta(days=3),
            dedupe_key=f"check_in:{case.id}",
            case_id=case.id,
        )
    assert moved.id == first.id
    assert moved.due_at == NOW + timedelta(days=3)
    assert (moved.status, moved.subject) == ("pending", {})
    assert first.subject == {"case_id": case.id}


async def test_due_reminders_fire_once(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        due = await reminders.schedule(
            session=session, kind="weekly_monitoring", due_at=NOW, dedupe_key="page:1:w10"
        )
        await reminders.schedule(
            session=session,
            kind="weekly_monitoring",
            due_at=NOW + timedelta(hours=1),
            dedupe_key="page:1:w11",
        )
    results = await asyncio.gather(*(_claim(sessions, f"w{n}", NOW) for n in range(4)))
    claimed = [row for batch in results for row in batch]
    assert [row.id for row in claimed] == [due.id]
    async with sessions() as session, session.begin():
        assert await reminders.mark_fired(session=session, reminder_id=due.id)
        assert not await reminders.mark_fired(session=session, reminder_id=due.id)
        # Scheduling a fired key again does not bring it back.
        again = await reminders.schedule(
            session=session, kind="weekly_monitoring", due_at=NOW, dedupe_key="page:1:w10"
        )
    assert (again.status, again.fired_at is not None) == ("fired", True)
    assert await _claim(sessions, "late", NOW + timedelta(minutes=5)) == []


async def test_lease_expiry_and_release(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        row = await reminders.schedule(
            session=session, kind="unacknowledged", due_at=NOW, dedupe_key="nudge:1"
        )
    assert [r.id for r in await _claim(sessions, "crashed", NOW)] == [row.id]
    assert await _claim(sessions, "other", NOW + timedelta(seconds=10)) == []
    (again,) = await _claim(sessions, "other", NOW + timedelta(seconds=31))
    assert again.claimed_by == "other"
    async with sessions() as session, session.begin():
        assert await reminders.release(
            session=session, reminder_id=row.id, due_at=NOW + timedelta(minutes=10)
        )
    assert await _claim(sessions, "x", NOW + timedelta(minutes=9)) == []
    assert len(await _claim(sessions, "x", NOW + timedelta(minutes=10))) == 1


async def test_cancel_by_case_and_kind(make_case: MakeCase, sessions: Sessions) -> None:
    case = await make_case()
    other = await make_case()
    async with sessions() as session, session.begin():
        for kind in ("check_in", "unacknowledged"):
            await reminders.schedule(
                session=session,
                kind=kind,
                due_at=NOW,
                dedupe_key=f"{kind}:{case.id}",
                case_id=case.id,
            )
        await reminders.schedule(
            session=session,
            kind="check_in",
            due_at=NOW,
            dedupe_key=f"check_in:{other.id}",
            case_id=other.id,
        )
        await reminders.schedule(session=session, kind="misc", due_at=NOW, dedupe_key="misc")
        assert await reminders.cancel(session=session, case_id=case.id, kind=()) == 0, "none"
        assert await reminders.cancel(session=session, case_id=case.id, kind="unacknowledged") == 1
        assert await reminders.cancel(session=session, case_id=case.id, kind=["misc"]) == 0
        assert await reminders.cancel(session=session, case_id=case.id) == 1
        assert await reminders.cancel(session=session, case_id=case.id) == 0
        assert await reminders.cancel_key(session=session, dedupe_key="misc")
        cancelled = await reminders.get(session=session, dedupe_key=f"check_in:{case.id}")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert [r.case_id for r in await _claim(sessions, "w", NOW)] == [other.id]
