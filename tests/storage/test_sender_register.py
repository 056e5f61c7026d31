"""The sender register's look-ups on both backends: the count a card shows matches the list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.repos import cases
from bot.storage.repos import senders as register

Sessions = async_sessionmaker[AsyncSession]


async def test_count_others_is_the_number_of_earlier_reports(
    sessions: Sessions, make_case: Callable[..., Awaitable[cases.CaseRow]]
) -> None:
    """Reports naming shared senders count once each, however many senders they share."""
    named = {"a": ["x", "y"], "b": ["x"], "c": ["y", "x"], "d": ["z"], "e": []}
    made = {name: await make_case() for name in named}
    async with sessions() as session, session.begin():
        for name, digests in named.items():
            await register.record(session=session, case_id=made[name].id, digests=digests)
    async with sessions() as session:
        for name, case in made.items():
            listed = await register.earlier_reports(session=session, case_id=case.id)
            counted = await register.count_others(session=session, case_id=case.id)
            assert counted == len(listed), name
        assert await register.count_others(session=session, case_id=made["a"].id) == 2
        assert await register.count_others(session=session, case_id=made["d"].id) == 0
