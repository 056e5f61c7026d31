"""Processed-event keys: a retried Slack event is handled once, even in a race."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.repos import dedupe
from bot.storage.types import utcnow

Sessions = async_sessionmaker[AsyncSession]


async def test_second_sighting_is_a_duplicate(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        assert not await dedupe.seen_before(session=session, key="slack:Ev01")
        assert await dedupe.seen_before(session=session, key="slack:Ev01")
        assert not await dedupe.seen_before(session=session, key="slack:Ev02")


async def test_concurrent_sightings_let_exactly_one_through(sessions: Sessions) -> None:
    async def sight() -> bool:
        async with sessions() as session, session.begin():
            return await dedupe.seen_before(session=session, key="slack:EvRACE")

    results = await asyncio.gather(*(sight() for _ in range(6)))
    assert results.count(False) == 1


async def test_old_keys_are_forgotten(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await dedupe.seen_before(session=session, key="old")
        removed = await dedupe.forget_older_than(
            session=session, cutoff=utcnow() + timedelta(seconds=1)
        )
        assert removed == 1
        assert not await dedupe.seen_before(session=session, key="old")
