"""Migrations: idempotent, current afterwards, and matching the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
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
