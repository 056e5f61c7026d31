"""Migrations: idempotent, current afterwards, and matching the models exactly.

And 0005's index of the outbox, built concurrently on PostgreSQL: valid afterwards, never
blocking an insert while it builds, undone and redone, rebuilt when a failed build left it
INVALID, and rebuilt when a valid index of its name is not it (other table, columns, kind).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import migrate
from bot.storage.engine import create_engine
from bot.storage.tables import Base

TABLES = {
    "cases",
    "case_events",
    "case_versions",
    "reference_counters",
    "flow_sessions",
    "posted_cards",
    "channel_bindings",
    "outbox",
    "reminders",
    "stored_files",
    "processed_events",
    "presences",
    "register_keys",
    "sender_hashes",
    "purge_log",
}


async def test_upgrade_is_idempotent_and_current(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert not await migrate.is_current(engine)
        await migrate.upgrade(database_url)
        await migrate.upgrade(database_url)
        assert await migrate.is_current(engine)
        assert await migrate.current_revisions(engine) == migrate.head_revisions()
    finally:
        await engine.dispose()


async def test_migrations_create_exactly_the_model_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert names == TABLES | {"alembic_version"}
    assert differences == []


async def test_one_open_session_index_is_partial(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        indexes = await connection.run_sync(lambda sync: inspect(sync).get_indexes("flow_sessions"))
    (open_only,) = [index for index in indexes if index["name"] == "uq_flow_sessions_open"]
    assert open_only["unique"]
    assert open_only["column_names"] == ["platform", "user_id", "flow"]


async def test_unreachable_database_is_not_current() -> None:
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert not await migrate.is_current(engine)
    finally:
        await engine.dispose()


# --- 0005: the outbox's card index, concurrently on PostgreSQL ------------------------------

CARD_INDEX = "ix_outbox_case_id_card_purpose_platform"
CARD_COLUMNS = ["case_id", "card_purpose", "platform"]
QUEUE_A_MESSAGE = text(
    "INSERT INTO outbox (platform, operation, target, card, status, attempts,"
    " next_attempt_at, created_at)"
    " VALUES ('slack', 'post', '{}', '{}', 'pending', 0, now(), now())"
)


async def card_index_columns(url: str) -> list[str | None] | None:
    """The card index's columns, on either backend; ``None`` when there is no such index."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            indexes = await connection.run_sync(lambda sync: inspect(sync).get_indexes("outbox"))
    finally:
        await engine.dispose()
    named = [index for index in indexes if index["name"] == CARD_INDEX]
    return list(named[0]["column_names"]) if named else None


async def is_current(url: str) -> bool:
    """Whether the database at ``url`` is at the migrations' head."""
    engine = create_engine(url)
    try:
        return await migrate.is_current(engine)
    finally:
        await engine.dispose()


async def card_index_on_postgresql(url: str) -> dict[str, Any] | None:
    """The card index as the catalog has it (oid, valid, ready, unique, partial, table,
    method), or ``None``."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT indexrelid::int8 AS oid, indisvalid AS valid,"
                        " indisready AS ready, indisunique AS unique,"
                        " indpred IS NOT NULL AS partial, indrelid::regclass::text AS table,"
                        " am.amname AS method"
                        " FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid"
                        " JOIN pg_am AS am ON am.oid = pg_class.relam"
                        " WHERE indexrelid = to_regclass(:name)"
                    ),
                    {"name": CARD_INDEX},
                )
            ).one_or_none()
    finally:
        await engine.dispose()
    return None if row is None else dict(row._mapping)


async def run_autocommit(url: str, *statements: str) -> None:
    """Run statements outside any transaction, as the superuser the test server gives."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_downgrade_to_0004_and_upgrade_again(database_url: str) -> None:
    """On both backends: the index comes and goes with 0005, and the round trip repeats."""
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(database_url)
        assert await card_index_columns(database_url) == CARD_COLUMNS
        for _ in range(2):
            await migrate.downgrade(database_url, "0004")
            assert await migrate.current_revisions(engine) == {"0004"}
            assert await card_index_columns(database_url) is None
            await migrate.upgrade(database_url)
            assert await migrate.is_current(engine)
            assert await card_index_columns(database_url) == CARD_COLUMNS
    finally:
        await engine.dispose()
    if database_url.startswith("postgresql"):
        index = await card_index_on_postgresql(database_url)
        assert index is not None and index["valid"] and index["ready"]


async def test_upgrade_builds_a_valid_card_index_on_postgresql(fresh_postgres_url: str) -> None:
    await migrate.upgrade(fresh_postgres_url)
    index = await card_index_on_postgresql(fresh_postgres_url)
    assert index is not None
    assert index["valid"] and index["ready"] and not index["unique"]
    assert await card_index_columns(fresh_postgres_url) == CARD_COLUMNS


async def test_the_card_index_is_built_without_blocking_inserts_on_postgresql(
    fresh_postgres_url: str,
) -> None:
    """A message is queued while the build waits for an older writer, as a rolling deploy's
    serving replicas do. A plain CREATE INDEX queues for its SHARE lock behind that writer,
    and every later insert queues behind it: this one would run into its lock_timeout."""
    url = fresh_postgres_url
    await migrate.upgrade(url, "0004")
    engine = create_engine(url)
    writer = await engine.connect()
    upgrade: asyncio.Task[None] | None = None
    try:
        await writer.execute(QUEUE_A_MESSAGE)  # its transaction stays open: the older writer
        upgrade = asyncio.create_task(migrate.upgrade(url))

        async def index_build_waits() -> bool:
            async with engine.connect() as probe:
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query ILIKE 'CREATE INDEX%'"
                    )
                )
            return bool(waiting)

        await eventually(index_build_waits, upgrade)
        async with engine.connect() as inserter:
            await inserter.execute(text("SET lock_timeout = '2s'"))
            await inserter.execute(QUEUE_A_MESSAGE)
            await inserter.commit()
        assert not upgrade.done(), "the build still waits for the older writer"
        await writer.commit()
        await asyncio.wait_for(upgrade, timeout=30)
        assert await migrate.is_current(engine)
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM outbox")) == 2
    finally:
        await writer.close()
        if upgrade is not None and not upgrade.done():
            upgrade.cancel()
        await engine.dispose()
    index = await card_index_on_postgresql(url)
    assert index is not None and index["valid"]


async def eventually(probe: Callable[[], Awaitable[bool]], task: asyncio.Task[None]) -> None:
    """Wait until ``probe`` is true, failing at once if ``task`` ends first."""
    deadline = time.monotonic() + 20
    while not await probe():
        if task.done():
            task.result()
            raise AssertionError("the upgrade finished without waiting")
        assert time.monotonic() < deadline, "not within 20 s"
        await asyncio.sleep(0.05)


async def leave_a_failed_build(url: str) -> None:
    """A concurrent build of that name which really fails half-way: a unique index over
    duplicate rows. PostgreSQL leaves it behind, INVALID (and on the wrong columns)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(QUEUE_A_MESSAGE)
            await connection.execute(QUEUE_A_MESSAGE)
    finally:
        await engine.dispose()
    with pytest.raises(IntegrityError):
        await run_autocommit(
            url, f"CREATE UNIQUE INDEX CONCURRENTLY {CARD_INDEX} ON outbox (platform)"
        )


async def leave_an_index_marked_invalid(url: str) -> None:
    """The right index, then marked INVALID by hand as a failed build leaves it (superuser)."""
    await run_autocommit(
        url,
        f"CREATE INDEX {CARD_INDEX} ON outbox ({', '.join(CARD_COLUMNS)})",
        f"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '{CARD_INDEX}'::regclass",
    )


async def leave_a_finished_build(url: str) -> None:
    """A build that finished, its version stamp never committed: valid, revision 0004."""
    await run_autocommit(url, f"CREATE INDEX {CARD_INDEX} ON outbox ({', '.join(CARD_COLUMNS)})")


@pytest.mark.parametrize(
    ("leave", "rebuilt"),
    [
        (leave_a_failed_build, True),
        (leave_an_index_marked_invalid, True),
        (leave_a_finished_build, False),
    ],
    ids=["failed-build", "marked-invalid", "finished-build"],
)
async def test_upgrade_recovers_from_what_an_interrupted_build_leaves_on_postgresql(
    fresh_postgres_url: str, leave: Callable[[str], Awaitable[None]], rebuilt: bool
) -> None:
    """Re-running the upgrade is the recovery: an INVALID leftover is dropped and built
    again (a new index, valid, on the right columns), a valid one is kept."""
    url = fresh_postgres_url
    await migrate.upgrade(url, "0004")
    await leave(url)
    leftover = await card_index_on_postgresql(url)
    assert leftover is not None and leftover["valid"] is not rebuilt

    await migrate.upgrade(url)

    index = await card_index_on_postgresql(url)
    assert index is not None
    assert index["valid"] and index["ready"] and not index["unique"]
    assert (index["oid"] != leftover["oid"]) is rebuilt
    assert await card_index_columns(url) == CARD_COLUMNS
    assert await is_current(url)


ON_THE_CARD_COLUMNS = f"ON outbox ({', '.join(CARD_COLUMNS)})"


@pytest.mark.parametrize(
    "statements",
    [
        [f"CREATE INDEX {CARD_INDEX} ON outbox (case_id, platform)"],
        [f"CREATE INDEX {CARD_INDEX} ON outbox (platform, card_purpose, case_id)"],
        [f"CREATE INDEX {CARD_INDEX} ON outbox (case_id, card_purpose, lower(platform))"],
        [f"CREATE INDEX {CARD_INDEX} {ON_THE_CARD_COLUMNS} INCLUDE (status)"],
        [f"CREATE UNIQUE INDEX {CARD_INDEX} {ON_THE_CARD_COLUMNS}"],
        [f"CREATE INDEX {CARD_INDEX} {ON_THE_CARD_COLUMNS} WHERE status = 'pending'"],
        [f"CREATE INDEX {CARD_INDEX} ON outbox USING brin ({', '.join(CARD_COLUMNS)})"],
        [
            "CREATE TABLE elsewhere (case_id text, card_purpose text, platform text)",
            f"CREATE INDEX {CARD_INDEX} ON elsewhere ({', '.join(CARD_COLUMNS)})",
        ],
    ],
    ids=[
        "other-columns",
        "other-order",
        "an-expression",
        "an-included-column",
        "unique",
        "partial",
        "not-btree",
        "other-table",
    ],
)
async def test_upgrade_replaces_a_valid_index_of_that_name_that_is_not_it_on_postgresql(
    fresh_postgres_url: str, statements: list[str]
) -> None:
    """``IF NOT EXISTS`` looks at the name alone: a valid index of that name that is not the
    card index is dropped and the card index built in its place."""
    url = fresh_postgres_url
    await migrate.upgrade(url, "0004")
    await run_autocommit(url, *statements)
    leftover = await card_index_on_postgresql(url)
    assert leftover is not None and leftover["valid"]

    await migrate.upgrade(url)

    index = await card_index_on_postgresql(url)
    assert index is not None and index["oid"] != leftover["oid"]
    del index["oid"]
    assert index == {
        "valid": True,
        "ready": True,
        "unique": False,
        "partial": False,
        "table": "outbox",
        "method": "btree",
    }
    assert await card_index_columns(url) == CARD_COLUMNS
    assert await is_current(url)
