"""The engine: URL handling, and SQLite really configured for concurrent use."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage import sqlite_inline
from bot.storage.engine import create_engine, dialect_name, normalise_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u:p@db:5432/bot", "postgresql+asyncpg"),
        ("postgresql://u:p@db/bot", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/bot", "postgresql+asyncpg"),
        ("sqlite:///./data/bot.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///./data/bot.db", "sqlite+aiosqlite"),
    ],
)
def test_urls_are_rewritten_to_the_async_drivers(given: str, driver: str) -> None:
    assert normalise_url(given).drivername == driver


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    url = normalise_url("postgres://u@db/bot?sslmode=require")
    assert dict(url.query) == {"ssl": "require"}


def test_other_backends_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        normalise_url("mysql://u@db/bot")


async def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/nested/dir/bot.db")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        assert (tmp_path / "nested" / "dir" / "bot.db").exists()
        assert dialect_name(engine) == "sqlite"
    finally:
        await engine.dispose()


async def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    # The bot keeps one connection per SQLite file; a pool of two shows every new one is set up.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db", pool_size=2)
    try:
        async with engine.connect() as first:
            await _assert_configured(first)
        # While the pooled connection is checked out, a brand-new one must be configured too.
        async with engine.connect() as _pooled, engine.connect() as new:
            await _assert_configured(new)
    finally:
        await engine.dispose()


async def _assert_configured(connection: AsyncConnection) -> None:
    pragma = connection.exec_driver_sql
    assert (await pragma("PRAGMA journal_mode")).scalar() == "wal"
    # No busy handler sleeping on the loop's thread: the wait for a lock is asynchronous.
    assert (await pragma("PRAGMA busy_timeout")).scalar() == 0
    assert (await pragma("PRAGMA foreign_keys")).scalar() == 1
    await connection.rollback()


async def test_sqlite_foreign_keys_are_enforced(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            await connection.exec_driver_sql(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id REFERENCES parent(id))"
            )
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO child (parent_id) VALUES (42)")
    finally:
        await engine.dispose()


async def test_sqlite_writer_waits_for_another_instead_of_failing(tmp_path: Path) -> None:
    """busy_timeout: a second transaction queues behind the first rather than erroring."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
            await connection.exec_driver_sql("INSERT INTO counter VALUES (0)")

        async def bump() -> None:
            async with engine.begin() as connection:
                value = (await connection.exec_driver_sql("SELECT n FROM counter")).scalar_one()
                await asyncio.sleep(0.01)  # read, pause, write: the classic lost-update window
                await connection.exec_driver_sql(f"UPDATE counter SET n = {value + 1}")

        await asyncio.gather(*(bump() for _ in range(5)))
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT n FROM counter")).scalar() == 5
    finally:
        await engine.dispose()


async def test_a_writer_waits_for_another_process_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    """Another process's write lock is waited out with asyncio.sleep, not on the loop's thread."""
    database = tmp_path / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
            await connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
        other = sqlite3.connect(database, isolation_level=None)  # as `purge` would be
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def write() -> None:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("UPDATE counter SET n = n + 1")

        ticker = asyncio.create_task(tick())
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writer.done(), "the writer did not wait for the lock"
        assert ticks >= 10, f"the loop stalled while the writer waited ({ticks} ticks)"
        other.rollback()
        await asyncio.wait_for(writer, timeout=2)
        ticker.cancel()
        other.close()
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT n FROM counter")).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_writer_gives_up_after_the_busy_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_WAIT_SECONDS", 0.2)
    database = tmp_path / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO counter VALUES (1)")
        other.rollback()
        other.close()
    finally:
        await engine.dispose()
