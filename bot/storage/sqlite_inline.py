"""SQLite on the event loop's own thread, behind the interface SQLAlchemy expects of aiosqlite.

Why not aiosqlite itself: it runs each statement on a worker thread and hands the result
back through the event loop, so a transaction of twenty-odd statements waits for twenty-odd
turns of a loop that is busy answering Slack and Teams, and holds SQLite's one write lock
(``BEGIN IMMEDIATE``, see ``engine.py``) all that time. Under a burst of presses the lock,
not the work, set the pace. The bot's statements run on indexed tables and take
microseconds, less than one turn of the loop, so here they run in place and a transaction
holds the lock only for as long as its work takes.

The one wait that can be long is for another process's write lock (a ``purge`` or
``keys rotate`` run next to ``serve``). SQLite's busy handler would sleep on the loop's thread
and stall every request; instead the connection has no busy timeout and a statement that
finds the database locked outside a transaction is retried after an ``asyncio.sleep``,
for up to :data:`BUSY_WAIT_SECONDS`, so the loop keeps answering meanwhile.

SQLAlchemy's ``sqlite+aiosqlite`` dialect takes the connection through its documented
``async_creator`` hook; everything above the connection (pooling, the ORM, Alembic) is
unchanged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

BUSY_WAIT_SECONDS = 5.0
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05

T = TypeVar("T")


def connector(database: str) -> Callable[[], Awaitable[InlineConnection]]:
    """The ``async_creator`` for ``create_async_engine``: opens ``database`` in place.

    ``database`` is a path, ``:memory:`` or a ``file:`` URI.
    """

    async def connect() -> InlineConnection:
        raw = await _when_unlocked(
            lambda: sqlite3.connect(
                database,
                uri=database.startswith("file:"),
                isolation_level=None,  # SQLAlchemy emits BEGIN itself (engine.py)
                check_same_thread=False,
                timeout=0,  # never sleep on the loop's thread; see _when_unlocked
            ),
            in_transaction=lambda: False,
        )
        return InlineConnection(raw)

    return connect


async def _when_unlocked(run: Callable[[], T], *, in_transaction: Callable[[], bool]) -> T:
    """Run ``run``; while the database is locked by another process, wait and run it again.

    Only a statement outside a transaction is repeated: it has done nothing yet, so doing it
    again is safe. Inside a transaction the error goes up, as it would from aiosqlite.
    """
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    pause = _FIRST_PAUSE
    while True:
        try:
            return run()
        except sqlite3.OperationalError as error:
            if not _is_locked(error) or in_transaction() or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


def _is_locked(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "database is locked" in str(error)


class InlineCursor:
    """An aiosqlite-shaped cursor whose methods do their work before they first await."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._cursor = connection.raw.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        """Run one statement (waiting out another process's lock, see the module docstring)."""
        await _when_unlocked(
            lambda: self._cursor.execute(sql, () if parameters is None else parameters),
            in_transaction=self._connection.in_transaction,
        )
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        """Run one statement for each set of parameters."""
        rows = list(parameters)
        await _when_unlocked(
            lambda: self._cursor.executemany(sql, rows),
            in_transaction=self._connection.in_transaction,
        )
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-shaped connection around a :class:`sqlite3.Connection` used in place."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        # SQLAlchemy's adapter checks this attribute (aiosqlite's name for the same thing)
        # before a commit or rollback: None once closed.
        self._connection: sqlite3.Connection | None = raw

    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection."""
        return self.raw.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def create_function(self, *args: Any, **options: Any) -> None:
        self.raw.create_function(*args, **options)

    async def commit(self) -> None:
        self.raw.commit()

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's forced terminate); nothing runs elsewhere to stop."""
        if self._connection is not None:
            self._connection = None
            self.raw.close()
