"""The pool serves waiters first come, first served, and loses no connection to a waiter
that gives up (``bot/storage/fair_pool.py``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import text
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import Empty

from bot.storage.engine import create_engine, session_factory
from bot.storage.fair_pool import FairAsyncPool, FairQueue


async def take(queue: FairQueue[str], name: str, order: list[str], **wait: float) -> None:
    """Ask for the item as the pool does (in a greenlet), note who got it, give it back."""
    item = await greenlet_spawn(queue.get, True, wait.get("timeout"))
    order.append(name)
    await asyncio.sleep(0)  # hold it for a moment, as a transaction would
    queue.put_nowait(item)


async def waiting(queue: FairQueue[str], names: str, order: list[str]) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(take(queue, name, order)) for name in names]
    for _ in names:
        await asyncio.sleep(0)  # each has asked and is in line now
    return tasks


async def test_a_newcomer_queues_behind_those_already_waiting() -> None:
    """The connection comes back and someone asks before the woken waiter has run: with
    asyncio.Queue the newcomer would take it and the waiter go to the back of the line."""
    queue: FairQueue[str] = FairQueue(maxsize=1)
    order: list[str] = []
    line = await waiting(queue, "AB", order)
    queue.put_nowait("connection")
    await take(queue, "newcomer", order)  # asks at once, in the same step as the return
    await asyncio.gather(*line)
    assert order == ["A", "B", "newcomer"]
    assert queue.get_nowait() == "connection", "and it is back, idle"


async def test_an_idle_item_is_taken_at_once_when_nobody_waits() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    queue.put_nowait("connection")
    assert await greenlet_spawn(queue.get, False, None) == "connection"
    with pytest.raises(Empty):
        await greenlet_spawn(queue.get, False, None)


async def test_a_waiter_that_times_out_leaves_the_line() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    order: list[str] = []
    with pytest.raises(Empty):
        await take(queue, "impatient", order, timeout=0.01)
    line = await waiting(queue, "A", order)
    queue.put_nowait("connection")
    await asyncio.gather(*line)
    assert order == ["A"]


async def test_a_waiter_cancelled_after_the_handover_passes_the_connection_on() -> None:
    """A request cancelled (its client went away) just as the connection reached it must
    not take the connection with it: with one connection that would stop every request."""
    queue: FairQueue[str] = FairQueue(maxsize=1)
    order: list[str] = []
    first, second = await waiting(queue, "AB", order)
    queue.put_nowait("connection")  # handed to A, who has not run yet
    first.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert order == ["B"]
    assert queue.get_nowait() == "connection"


async def test_the_engines_use_it_and_transactions_run_in_the_order_they_asked(
    tmp_path: Path,
) -> None:
    """Twenty transactions wait for SQLite's one connection; as each finishes, a new request
    arrives (as under a burst). With SQLAlchemy's own queue the newcomers went first
    (0, 100, 2, 102, ...) and the passed-over waiters ever later; here they wait their turn."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}")
    db = session_factory(engine)
    assert isinstance(engine.pool, FairAsyncPool)
    order: list[int] = []
    tasks: list[asyncio.Task[None]] = []

    def arrive(number: int) -> None:
        tasks.append(asyncio.create_task(transaction(number)))

    async def transaction(number: int) -> None:
        async with db.begin() as session:
            await session.execute(text("SELECT 1"))
            order.append(number)
            if number < 100:  # someone new asks while this one finishes
                asyncio.get_running_loop().call_soon(arrive, 100 + number)

    try:
        async with db.begin() as holder:
            await holder.execute(text("SELECT 1"))  # the one connection is taken
            for number in range(20):
                arrive(number)
            await asyncio.sleep(0.05)
        while not all(task.done() for task in tasks):
            await asyncio.gather(*tasks)
        assert order == [*range(20), *range(100, 120)]
    finally:
        await engine.dispose()


class FakeConnection:
    """Enough of a DBAPI connection for the pool: it only has to be handed out and closed."""

    closed: ClassVar[list[FakeConnection]] = []

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        FakeConnection.closed.append(self)


async def test_an_extra_connection_handed_to_a_cancelled_waiter_is_closed_not_lost() -> None:
    """With room for one idle connection and one extra (PostgreSQL's pools have overflow):
    the extra is handed to a waiter, the other comes back idle, and the waiter's task is
    cancelled before it runs. The extra must be closed and the pool able to open it again,
    not held by nobody for ever."""
    pool = FairAsyncPool(FakeConnection, pool_size=1, max_overflow=1, timeout=1)
    first = await greenlet_spawn(pool.connect)
    extra = await greenlet_spawn(pool.connect)
    waiter = asyncio.create_task(greenlet_spawn(pool.connect))
    for _ in range(5):
        await asyncio.sleep(0)  # the waiter is in line
    await greenlet_spawn(extra.close)  # handed to the waiter, who has not run yet
    await greenlet_spawn(first.close)  # nobody else waits: idle in the queue, now full
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert pool.checkedout() == 0 and pool.overflow() == 0
    assert len(FakeConnection.closed) == 1, "the extra connection was closed"
    again = [await greenlet_spawn(pool.connect) for _ in range(2)]  # both slots still usable
    for connection in again:
        await greenlet_spawn(connection.close)
    pool.dispose()
