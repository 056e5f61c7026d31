"""Build the async engine and session factory for SQLite or PostgreSQL.

One function turns ``DATABASE_URL`` into a configured :class:`AsyncEngine`, so the rest of
the bot never cares which backend it runs on. The SQLite settings matter for correctness,
not just speed:

* WAL lets readers carry on while one writer commits; while the server runs, a worker
  thread copies the WAL back into the database (``checkpoints.py``), so the commits on the
  loop's thread seldom have to;
* a writer waits for another process's lock instead of failing at once with "database is
  locked", asynchronously (statements run on the loop's thread, ``sqlite_inline.py``);
* ``foreign_keys=ON`` because SQLite ignores foreign keys unless asked, per connection;
* every transaction starts with ``BEGIN IMMEDIATE``: a transaction that reads and then writes
  would otherwise fail with ``SQLITE_BUSY`` (no waiting) when another writer committed in
  between, which would turn an optimistic-concurrency loss into an exception.

The price of ``BEGIN IMMEDIATE`` is that SQLite transactions run one at a time, so keep them
short: never hold a session open across a call to Slack or Teams (that is what the outbox
is for). As they run one at a time anyway, a SQLite file gets one pooled connection per
process: transactions queue for it in order instead of polling the lock (see
``_sqlite_engine``), so never open a second session while one is in use. No engine is
kept at module level: the app factory creates one and passes it on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from bot.storage.checkpoints import Checkpointer
from bot.storage.crypto import DataCipher, install
from bot.storage.fair_pool import FairAsyncPool
from bot.storage.sqlite_inline import BUSY_WAIT_SECONDS, connector

DEFAULT_URL = "sqlite+aiosqlite:///./data/bot.db"
SQLITE_BUSY_TIMEOUT_MS = int(BUSY_WAIT_SECONDS * 1000)  # how long a writer waits for the lock

_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"}
_SQLITE_NAMES = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}


def normalise_url(url: str) -> URL:
    """Rewrite a database URL to the async driver this bot uses.

    Args:
        url: ``sqlite:///…``, ``sqlite+aiosqlite:///…``, ``postgres://…``,
            ``postgresql://…`` or ``postgresql+asyncpg://…``.

    Returns:
        The URL with the ``aiosqlite`` or ``asyncpg`` driver. libpq's ``sslmode`` query
        parameter (common in hosted ``DATABASE_URL`` values) becomes asyncpg's ``ssl``.

    Raises:
        ValueError: for any other backend.
    """
    parsed = make_url(url)
    if parsed.drivername in _SQLITE_NAMES:
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in _POSTGRES_NAMES:
        parsed = parsed.set(drivername="postgresql+asyncpg")
        if "sslmode" in parsed.query:
            query = dict(parsed.query)
            query["ssl"] = query.pop("sslmode")
            parsed = parsed.set(query=query)
        return parsed
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def create_engine(
    url: str = DEFAULT_URL, *, cipher: DataCipher | None = None, **options: Any
) -> AsyncEngine:
    """Create the async engine for ``url``.

    Args:
        url: the database URL (see :func:`normalise_url`). For a SQLite file the parent
            directory is created.
        cipher: the data key (``Settings.data_cipher()``) that seals personal free text at
            rest; ``None`` stores it as given (and cannot read sealed values).
        options: extra keyword arguments for SQLAlchemy's ``create_async_engine``.

    Returns:
        An engine whose every connection is configured for the bot (see the module docstring).
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, **options)
    else:
        options.setdefault("pool_pre_ping", True)
        options.setdefault("poolclass", FairAsyncPool)  # waiters served in order
        engine = _create_async_engine(parsed, **options)
    install(engine, cipher)
    return engine


def checkpointer_for(engine: AsyncEngine) -> Checkpointer | None:
    """The WAL checkpointer a server runs beside ``engine`` (``checkpoints.py``): for a
    SQLite file; None for PostgreSQL and for SQLite in memory or named by URI."""
    path = _sqlite_file(engine.url.database or "") if engine.dialect.name == "sqlite" else None
    return Checkpointer(str(path)) if path is not None else None


def _in_memory(database: str) -> bool:
    """Whether a SQLite database name is a database in memory."""
    return database in ("", ":memory:") or "mode=memory" in database


def _sqlite_file(database: str) -> Path | None:
    """The file a SQLite database name is, or None for one in memory or named by URI."""
    if _in_memory(database) or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _sqlite_engine(url: URL, **options: Any) -> AsyncEngine:
    database = url.database or ""
    in_memory = _in_memory(database)
    if (path := _sqlite_file(database)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not in_memory:
        # Every transaction takes the write lock (BEGIN IMMEDIATE, below), so a second
        # connection never works alongside the first: it only waits in SQLite's busy
        # handler, which sleeps in steps of up to 100 ms while the lock may be free, and
        # fails with "database is locked" after busy_timeout. One connection, waited for in
        # turn in the pool's queue, wastes no time and fails no request in a burst.
        options.setdefault("pool_size", 1)
        options.setdefault("max_overflow", 0)
        # In the order they asked: SQLAlchemy's own queue lets a newcomer take the
        # connection ahead of a woken waiter, who then queues again (fair_pool.py).
        options.setdefault("poolclass", FairAsyncPool)
    # Statements run on the loop's thread, not aiosqlite's (see sqlite_inline.py). The
    # connection is opened without sqlite3's own BEGIN (SQLAlchemy emits it, below) and
    # without a busy handler (the wait for a lock is asynchronous).
    options["async_creator"] = connector(database or ":memory:")
    engine = _create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                # NORMAL is durable against corruption in WAL mode and much faster than FULL.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # Take the write lock up front so read-then-write transactions queue instead of failing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory the services use.

    ``expire_on_commit=False`` so values read before a commit stay readable after it, without
    an implicit (and, under asyncio, forbidden) lazy reload.
    """
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_name(engine: AsyncEngine) -> str:
    """``"sqlite"`` or ``"postgresql"``: for the few places where the backends differ."""
    return engine.dialect.name
