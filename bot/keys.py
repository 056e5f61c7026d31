"""``python -m bot keys generate | rotate | status``, and the data-key check at start-up.

Rotating the data key (README, "Encryption at rest"): generate a key, put it first in
``BOT_DATA_KEY`` (keeping the old ones after it), restart every replica so new data is
sealed with it, run ``keys rotate`` to reseal everything stored, check with ``keys status``
that the old key seals nothing, then drop it from ``BOT_DATA_KEY``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.export.cli import _missing_sqlite_file
from bot.register.db import NoDatabase
from bot.storage.crypto import BadDataKey, DataCipher, DataKeyError, generate_key, key_id
from bot.storage.engine import create_engine, session_factory
from bot.storage.files import FileStore
from bot.storage.rotate import (
    BATCH_SIZE,
    Tally,
    key_usage,
    rotate_database,
    rotate_files,
    sealed_columns,
)
from bot.storage.tables import StoredFile


def generate() -> int:
    """Print a new key on standard output, and what to do with it on standard error."""
    key = generate_key()
    print(key)
    print(
        f"Key id {key_id(key)}. Put it first in BOT_DATA_KEY (comma-separated, newest first), "
        "restart every replica, then run `python -m bot keys rotate`.",
        file=sys.stderr,
    )
    return 0


async def rotate(settings: Settings, *, batch_size: int = BATCH_SIZE) -> int:
    """Reseal every stored value and evidence file with the newest key; the exit code."""
    try:
        cipher = _required_cipher(settings)
        print(
            f"Resealing with key {cipher.primary_id} "
            f"(BOT_DATA_KEY lists {len(cipher.key_ids)} key(s)).",
            flush=True,
        )
        async with _opened(settings, cipher) as (db, store):
            await rotate_database(db, cipher, batch_size=batch_size, report=_print)
            await rotate_files(store, report=_print)
    except (BadDataKey, DataKeyError, NoDatabase, SQLAlchemyError) as error:
        print(f"Cannot rotate: {error}", file=sys.stderr)
        return 1
    older = ", ".join(cipher.key_ids[1:])
    after = f" Key(s) {older} now seal nothing and can be dropped." if older else ""
    print(f"Done: everything stored is sealed with key {cipher.primary_id}.{after}")
    return 0


async def status(settings: Settings) -> int:
    """Print how many stored values and files each key seals; the exit code."""
    try:
        cipher = settings.data_cipher()
        async with _opened(settings, cipher) as (db, store):
            usage = await key_usage(db, store)
    except (BadDataKey, NoDatabase, SQLAlchemyError) as error:
        print(f"Cannot count: {error}", file=sys.stderr)
        return 1
    listed = cipher.key_ids if cipher else ()
    for ident, count in sorted(usage.items()):
        where = _describe(ident, listed)
        print(f"{ident}: {count} ({where})")
    if not usage:
        print("Nothing stored yet.")
    return 0


def _describe(ident: str, listed: tuple[str, ...]) -> str:
    if ident in ("plain", "damaged"):
        return "not encrypted" if ident == "plain" else "not in the sealed format: cannot be read"
    if ident not in listed:
        return "NOT in BOT_DATA_KEY: these cannot be read"
    return "newest key" if ident == listed[0] else "an older key in BOT_DATA_KEY"


async def check_data_key(settings: Settings) -> None:
    """Open a sample of what is stored (each sealed column's first and last rows, the newest
    evidence file) with the configured keys, so a wrong or missing key stops the start-up.

    Raises:
        BadDataKey: ``BOT_DATA_KEY`` is malformed.
        DataKeyError: stored data that these keys cannot open, naming where it is.
    """
    cipher = settings.data_cipher()
    async with _opened(settings, cipher) as (db, store):
        async with db() as session:
            await _open_samples(session)
            newest = await session.scalar(
                select(StoredFile.path).order_by(StoredFile.received_at.desc()).limit(1)
            )
        if newest is not None and await store.exists(newest):
            try:
                await store.read(newest)
            except DataKeyError as error:
                raise DataKeyError(f"evidence file {newest}: {error}") from None


async def _open_samples(session: AsyncSession) -> None:
    for table, column in sealed_columns():
        (key,) = table.primary_key.columns
        for order in (key.asc(), key.desc()):
            try:
                await session.scalar(select(column).order_by(order).limit(1))
            except DataKeyError as error:
                raise DataKeyError(f"{table.name}.{column.name}: {error}") from None


def _required_cipher(settings: Settings) -> DataCipher:
    cipher = settings.data_cipher()
    if cipher is None:
        raise BadDataKey("BOT_DATA_KEY is not set: set it to the keys, newest first")
    return cipher


@asynccontextmanager
async def _opened(
    settings: Settings, cipher: DataCipher | None
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], FileStore]]:
    missing = _missing_sqlite_file(settings.database_url)
    if missing:
        raise NoDatabase(f"no database at {missing} (set DATABASE_URL)")
    engine = create_engine(settings.database_url, cipher=cipher)
    try:
        yield session_factory(engine), FileStore(settings.bot_file_store, cipher=cipher)
    finally:
        await engine.dispose()


def _print(tally: Tally) -> None:
    print(tally.line(), flush=True)
