"""Flow sessions (drafts): one open per person and flow, versioned saves, closing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import migrate
from bot.storage.repos import sessions as drafts
from tests.support.backends import sqlite_plan

Sessions = async_sessionmaker[AsyncSession]
WHO = {"platform": "slack", "user_id": "U1", "flow": "abuse_report"}


async def test_create_get_and_save(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        draft = await drafts.create(session=session, **WHO, step="what_happened")
    async with sessions() as session, session.begin():
        assert await drafts.save(
            session=session,
            session_id=draft.id,
            step="when",
            answers={"what_happened": "shouting"},
            history=["what_happened"],
            expected_version=1,
        )
        # A double submit of the same step carries the old version and is refused.
        assert not await drafts.save(
            session=session,
            session_id=draft.id,
            step="when",
            answers={"what_happened": "stale"},
            history=["what_happened"],
            expected_version=1,
        )
    async with sessions() as session:
        by_id = await drafts.get(session=session, session_id=draft.id)
        open_one = await drafts.get_open(session=session, **WHO)
    assert by_id == open_one
    assert by_id is not None
    assert (by_id.step, by_id.version, by_id.status) == ("when", 2, "open")
    assert by_id.answers == {"what_happened": "shouting"}
    assert by_id.history == ["what_happened"]


async def test_only_one_open_session_per_person_and_flow(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        first = await drafts.create(session=session, **WHO, step="start")
        with pytest.raises(drafts.OpenSessionExists):
            await drafts.create(session=session, **WHO, step="start")
        # The refused insert skipped the clash: this transaction is still usable.
        other_flow = await drafts.create(
            session=session, platform="slack", user_id="U1", flow="business_case", step="start"
        )
        other_person = await drafts.create(
            session=session, platform="teams", user_id="U1", flow="abuse_report", step="start"
        )
    async with sessions() as session:
        mine = await drafts.list_open(session=session, platform="slack", user_id="U1")
    assert {row.id for row in mine} == {first.id, other_flow.id}
    assert other_person.platform == "teams"


async def test_closed_sessions_make_room_for_a_new_one(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        first = await drafts.create(session=session, **WHO, step="start")
        assert await drafts.set_status(session=session, session_id=first.id, status="discarded")
        assert not await drafts.set_status(session=session, session_id=first.id, status="submitted")
        second = await drafts.create(session=session, **WHO, step="start")
        assert await drafts.set_status(session=session, session_id=second.id, status="submitted")
        third = await drafts.create(session=session, **WHO, step="start")
    async with sessions() as session:
        assert (await drafts.get_open(session=session, **WHO)) == third
        closed = await drafts.get(session=session, session_id=first.id)
        assert closed is not None and closed.status == "discarded"
        assert not await drafts.save(
            session=session,
            session_id=first.id,
            step="x",
            answers={},
            history=[],
            expected_version=closed.version,
        )
    with pytest.raises(ValueError):
        async with sessions() as session:
            await drafts.set_status(session=session, session_id=third.id, status="open")


async def test_concurrent_creates_leave_one_open_session(sessions: Sessions) -> None:
    async def start() -> str:
        try:
            async with sessions() as session, session.begin():
                return (await drafts.create(session=session, **WHO, step="start")).id
        except drafts.OpenSessionExists:
            return "refused"

    results = await asyncio.gather(start(), start(), start())
    assert results.count("refused") == 2
    async with sessions() as session:
        assert len(await drafts.list_open(session=session, platform="slack", user_id="U1")) == 1


def test_the_open_draft_look_up_uses_the_partial_index(tmp_path: Path) -> None:
    """``status = 'open'`` is literal in the SQL, so SQLite can use the index of open drafts.

    With a bound ``status = ?`` SQLite cannot prove the partial index applies and scans every
    draft ever made, on every command that opens a flow.
    """
    path = tmp_path / "bot.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    for statement in (drafts._OPEN_DRAFT, drafts._OPEN_DRAFTS_OF):
        plan = sqlite_plan(path, statement)
        assert any("USING INDEX uq_flow_sessions_open" in step for step in plan), plan
        assert not any(step.startswith("SCAN flow_sessions") for step in plan), plan
