"""The outbox's case-card rules, on both backends: a card held back while another rendering
of it is in flight, overtaken renderings found for a whole batch, marks written together,
and the delivery plan built from them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery_plan import card_state, plan
from bot.model import ConversationRef, MessageRef, Platform
from bot.storage import migrate
from bot.storage.repos import cards, cases, outbox
from tests.support.backends import sqlite_plan

Sessions = async_sessionmaker[AsyncSession]
MakeCase = Callable[..., Awaitable[cases.CaseRow]]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SLACK_TRIAGE = ConversationRef(Platform.SLACK, "C0TRIAGE")
SLACK_OTHER = ConversationRef(Platform.SLACK, "C0OTHER")
TEAMS_TRIAGE = ConversationRef(Platform.TEAMS, "19:triage@thread.tacv2")


async def _queue(
    sessions: Sessions,
    *,
    case_id: str | None,
    purpose: str | None = "triage",
    conversation: ConversationRef = SLACK_TRIAGE,
    operation: str = "post",
) -> outbox.OutboxRow:
    async with sessions() as session, session.begin():
        row = await outbox.enqueue(
            session=session,
            platform=conversation.platform.value,
            operation=operation,
            target=conversation.to_json(),
            card={"type": "Card", "title": "a rendering", "elements": []},
            case_id=case_id,
            card_purpose=purpose,
            not_before=NOW,
        )
    assert row is not None
    return row


async def _claim(
    sessions: Sessions, *, limit: int = 50, now: datetime = NOW
) -> list[outbox.OutboxRow]:
    async with sessions() as session, session.begin():
        return await outbox.claim_due(
            session=session, now=now, worker_id="w", limit=limit, lease_seconds=60
        )


async def test_a_card_in_flight_holds_back_only_its_own_other_renderings(
    sessions: Sessions, make_case: MakeCase
) -> None:
    first_case, second_case = await make_case(), await make_case()
    posting = await _queue(sessions, case_id=first_case.id)
    assert [row.id for row in await _claim(sessions, limit=1)] == [posting.id]
    held = await _queue(sessions, case_id=first_case.id)  # same card, same platform
    claimable = [
        await _queue(sessions, case_id=first_case.id, conversation=TEAMS_TRIAGE),
        await _queue(sessions, case_id=first_case.id, purpose=None),  # a plain message
        await _queue(sessions, case_id=second_case.id),
        await _queue(sessions, case_id=None),  # a card of no case is no case's card
    ]
    claimed = await _claim(sessions)
    assert [row.id for row in claimed] == [row.id for row in claimable]
    assert all((row.claimed_by, row.attempts) == ("w", 1) for row in claimed)
    # Once the lease is over, the held rendering is claimed with the expired one.
    later = await _claim(sessions, now=NOW + timedelta(seconds=61))
    assert {row.id for row in later} == {posting.id, held.id, *(row.id for row in claimable)}


async def test_a_claim_with_no_room_takes_nothing(sessions: Sessions) -> None:
    await _queue(sessions, case_id=None, purpose=None)
    assert await _claim(sessions, limit=0) == []
    assert len(await _claim(sessions, limit=1)) == 1


async def test_overtaken_renderings_are_found_for_a_batch_as_one_by_one(
    sessions: Sessions, make_case: MakeCase
) -> None:
    case, other_case = await make_case(), await make_case()
    old = await _queue(sessions, case_id=case.id)
    elsewhere = await _queue(sessions, case_id=case.id, conversation=SLACK_OTHER)
    alone = await _queue(sessions, case_id=other_case.id)
    orphan = await _queue(sessions, case_id=None)
    await _queue(sessions, case_id=case.id)  # overtakes ``old``
    await _queue(sessions, case_id=None)  # overtakes ``orphan``
    gone = await _queue(sessions, case_id=other_case.id)  # set aside: overtakes nothing
    await _queue(sessions, case_id=other_case.id, conversation=TEAMS_TRIAGE)  # other card
    async with sessions() as session, session.begin():
        assert await outbox.mark_dead(session=session, outbox_id=gone.id, error="gone")
    rows = [old, elsewhere, alone, orphan]
    async with sessions() as session:
        batch = await outbox.overtaken(session=session, rows=rows)
        one_by_one = {row.id for row in rows if await outbox.overtaken(session=session, rows=[row])}
    assert batch == one_by_one == {old.id, orphan.id}


async def test_marks_written_together_leave_finished_rows_alone(sessions: Sessions) -> None:
    first, second, finished = [await _queue(sessions, case_id=None, purpose=None) for _ in "abc"]
    async with sessions() as session, session.begin():
        assert await outbox.mark_dead(session=session, outbox_id=finished.id, error="gone")
        await outbox.mark_all_sent(
            session=session, sent=[(first.id, "1.1"), (second.id, None), (finished.id, "x")]
        )
        await outbox.mark_all_sent(session=session, sent=[])
    async with sessions() as session:
        rows = [await outbox.get(session=session, outbox_id=row.id) for row in (first, second)]
        dead = await outbox.get(session=session, outbox_id=finished.id)
    assert [(row.status, row.message_id) for row in rows if row] == [
        ("sent", "1.1"),
        ("sent", None),
    ]
    assert all(row.sent_at is not None and row.claimed_until is None for row in rows if row)
    assert dead is not None and (dead.status, dead.message_id) == ("dead", None)


async def test_the_plan_sends_each_cards_newest_rendering_where_the_card_is(
    sessions: Sessions, make_case: MakeCase
) -> None:
    case, new_case = await make_case(), await make_case()
    async with sessions() as session, session.begin():
        await cards.record_posted(
            session=session,
            case_id=case.id,
            purpose="triage",
            message=MessageRef(SLACK_TRIAGE, "1.1"),
        )
    stale = await _queue(sessions, case_id=case.id)
    plain = await _queue(sessions, case_id=None, purpose=None)
    newest = await _queue(sessions, case_id=case.id)
    first_post = await _queue(sessions, case_id=new_case.id)
    claimed = await _claim(sessions)
    async with sessions() as session, session.begin():
        planned = await plan(session, claimed)
    assert [(p.row.id, p.existing) for p in planned] == [
        (newest.id, MessageRef(SLACK_TRIAGE, "1.1")),
        (plain.id, None),
        (first_post.id, None),
    ]
    async with sessions() as session:
        superseded = await outbox.get(session=session, outbox_id=stale.id)
        assert await card_state(session, newest) == (False, MessageRef(SLACK_TRIAGE, "1.1"))
        assert await card_state(session, stale) == (True, None)
    assert superseded is not None
    assert (superseded.status, superseded.message_id) == ("sent", "superseded")


def test_a_cards_other_renderings_are_found_through_its_index(tmp_path: Path) -> None:
    """The in-flight check and the newer-renderings look-up use the case card index, so
    their cost does not grow with every message the outbox has ever sent."""
    path = tmp_path / "bot.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    _, claim = outbox._claim_statements("sqlite", True)
    later = outbox._later_statement(True).params(cases=["a", "b"], after=1)
    for statement in (claim, later):
        plan_steps = sqlite_plan(path, statement)
        assert any(
            "USING INDEX ix_outbox_case_id_card_purpose_platform" in step
            or "USING COVERING INDEX ix_outbox_case_id_card_purpose_platform" in step
            for step in plan_steps
        ), plan_steps


async def test_overtaken_renderings_are_found_past_32_bit_ids(
    sessions: Sessions, make_case: MakeCase
) -> None:
    """Outbox ids are 64-bit on PostgreSQL: the batch look-up must bind them as such."""
    case = await make_case()
    row = await _queue(sessions, case_id=case.id)
    async with sessions() as session, session.begin():
        table = outbox._OUTBOX
        await session.execute(table.update().where(table.c.id == row.id).values(id=3_000_000_000))
    claimed = await _claim(sessions)
    assert [r.id for r in claimed] == [3_000_000_000]
    async with sessions() as session, session.begin():
        assert await outbox.overtaken(session=session, rows=claimed) == set()
        planned = await plan(session, claimed)
    assert [p.row.id for p in planned] == [3_000_000_000]
