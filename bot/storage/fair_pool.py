"""A connection pool that serves whoever has waited longest.

SQLAlchemy's asyncio pool keeps its idle connections in an ``asyncio.Queue``. When a
connection comes back, the queue wakes its first waiter, but a task that asks in the
meantime takes the connection first (``get_nowait``), and the woken waiter, finding the
queue empty again, joins the back of the line. On SQLite there is one connection (see
``engine.py``), so under a burst of Teams card presses a few requests were passed over
again and again: a median of 0.12 s and a p99 of 1.3 to 4.7 s, with 3.4 s spent waiting
inside the press for the connection.

Here a connection that comes back goes straight to the first waiter, and whoever asks
while anyone is waiting queues behind them: first come, first served. A waiter whose task
is cancelled after a connection was handed to it gives the connection back through the
pool (to the next waiter, or closed if it was an extra one with no room left), and one
whose timeout runs out just as a connection reached it keeps it, so none is lost.

It relies on SQLAlchemy 2.1's pool internals (``QueuePool._queue_class``,
``AsyncAdaptedQueue``), hence the pinned minor version in ``pyproject.toml``; the tests
in ``tests/storage/test_fair_pool.py`` fail if they change.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util.concurrency import await_
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty

T = TypeVar("T")


class FairQueue(AsyncAdaptedQueue[T]):
    """The pool's idle connections, handed out in the order they were asked for."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[T]] = deque()
        # How a waiter that gave up returns what it was handed: the pool's own return
        # (FairAsyncPool), which also closes a connection the full queue has no room for.
        self.give_back: Callable[[T], None] = self.put_nowait

    def put_nowait(self, item: T) -> None:
        """Give ``item`` to the longest waiter, or keep it for the next to ask."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """As :meth:`put_nowait`: the pool never holds more than it has room for."""
        self.put_nowait(item)

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """An idle item at once if nobody is waiting; else wait in line (up to ``timeout``).

        Raises:
            Empty: none now and ``block`` is false, or none within ``timeout``.
        """
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if not self._waiters:
            try:
                return self.get_nowait()
            except Empty:
                if not block:
                    raise
        elif not block:
            raise Empty()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(_wait(waiter, within=timeout))
        except TimeoutError as error:
            if waiter.done() and not waiter.cancelled():
                return waiter.result()  # handed over as time ran out: in time after all
            waiter.cancel()
            raise Empty() from error
        except BaseException:
            self._pass_on(waiter)
            raise

    def _pass_on(self, waiter: asyncio.Future[T]) -> None:
        """The waiter was cancelled: give back what it was handed meanwhile, or leave the
        line."""
        if waiter.done() and not waiter.cancelled():
            self.give_back(waiter.result())
        else:
            waiter.cancel()


async def _wait(waiter: asyncio.Future[T], *, within: float | None) -> T:
    # shield: on a timeout the future must stay as it is, so _pass_on can see whether a
    # connection reached it just before.
    async with asyncio.timeout(within):
        return await asyncio.shield(waiter)


class FairAsyncPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, its waiters served first come, first served."""

    _queue_class: Any = FairQueue

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A connection a cancelled waiter was handed goes back as any returned one does:
        # to the next waiter, into the queue, or (queue full: an overflow one) closed.
        self._pool.give_back = self._do_return_conn  # type: ignore[attr-defined]
