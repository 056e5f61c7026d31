"""Key rotation: bring every sealed value and evidence file under the newest data key.

Which columns hold sealed data is read from the tables themselves (every
:class:`~bot.storage.types.SealedJSON` and :class:`~bot.storage.types.SealedText` column),
so a new sealed column is rotated without touching this module.

Each column is walked in primary-key order, one batch per short transaction. The batch's
rows are locked (``FOR UPDATE`` on PostgreSQL; SQLite transactions are exclusive), so a
replica writing the same row waits rather than having its change overwritten. Values are
read raw (still sealed); a row is rewritten only when something in it is not yet under the
newest key (values from before encryption are sealed too). Values already under the newest
key are still opened, to prove they are intact. So the walk is idempotent, and resumable:
an interrupted run keeps every batch it committed, and running it again finishes the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, Table, Text, cast, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.crypto import DataCipher, DataKeyError, is_sealed, reseal_tree, sealed_with
from bot.storage.files import FileStore
from bot.storage.tables import Base
from bot.storage.types import SealedJSON, SealedText

BATCH_SIZE = 200


@dataclass(frozen=True)
class Tally:
    """What a walk over one column (``table.column``) or the file store found and did."""

    name: str
    read: int
    rewritten: int
    values: int

    def line(self) -> str:
        """``cases.data: 12 rows read, 3 rewritten (40 values resealed)``."""
        unit = "files" if self.name == "files" else "rows"
        return (
            f"{self.name}: {self.read} {unit} read, {self.rewritten} rewritten "
            f"({self.values} values resealed)"
        )


def sealed_columns() -> Iterator[tuple[Table, Column[Any]]]:
    """Every column of the schema that holds sealed data, table by table."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SealedJSON | SealedText):
                yield table, column


async def rotate_database(
    db: async_sessionmaker[AsyncSession],
    cipher: DataCipher,
    *,
    batch_size: int = BATCH_SIZE,
    report: Callable[[Tally], None] = lambda _: None,
) -> list[Tally]:
    """Reseal every sealed column under ``cipher``'s newest key; one tally per column.

    Raises:
        DataKeyError: a value whose key is not listed, or that was altered, naming the
            table, column and row; the batch it was in is rolled back, earlier ones stay.
    """
    tallies = []
    for table, column in sealed_columns():
        tally = await _rotate_column(db, table, column, cipher, batch_size)
        report(tally)
        tallies.append(tally)
    return tallies


async def _rotate_column(
    db: async_sessionmaker[AsyncSession],
    table: Table,
    column: Column[Any],
    cipher: DataCipher,
    batch_size: int,
) -> Tally:
    (key,) = table.primary_key.columns
    is_json = isinstance(column.type, SealedJSON)
    read = rewritten = values = 0
    after: Any = None
    while True:
        statement = select(key, cast(column, Text)).order_by(key).limit(batch_size)
        if after is not None:
            statement = statement.where(key > after)
        async with db() as session, session.begin():
            rows = (await session.execute(statement.with_for_update())).all()
            for row_key, raw in rows:
                new, changed = _reseal(raw, is_json, cipher, f"{table.name}.{column.name}", row_key)
                if changed:
                    stored = type_coerce(new, JSON() if is_json else Text())
                    change = update(table).where(key == row_key).values({column: stored})
                    await session.execute(change)
                    rewritten, values = rewritten + 1, values + changed
        read += len(rows)
        if len(rows) < batch_size:
            return Tally(f"{table.name}.{column.name}", read, rewritten, values)
        after = rows[-1][0]


def _reseal(
    raw: str | None, is_json: bool, cipher: DataCipher, where: str, row: Any
) -> tuple[Any, int]:
    if raw is None:
        return None, 0
    try:
        return reseal_tree(json.loads(raw) if is_json else raw, cipher)
    except DataKeyError as error:
        raise DataKeyError(f"{where}, row {row}: {error}") from None


async def rotate_files(
    store: FileStore, *, report: Callable[[Tally], None] = lambda _: None
) -> Tally:
    """Reseal every file in the store under the newest key.

    Raises:
        DataKeyError: a file whose key is not listed, or that was altered, naming its path.
    """
    paths = await asyncio.to_thread(lambda: list(store.paths()))
    rewritten = 0
    for path in paths:
        try:
            rewritten += await asyncio.to_thread(store.reseal, path)
        except DataKeyError as error:
            raise DataKeyError(f"file {path}: {error}") from None
    tally = Tally("files", len(paths), rewritten, rewritten)
    report(tally)
    return tally


async def key_usage(db: async_sessionmaker[AsyncSession], store: FileStore) -> Counter[str]:
    """How many stored strings and files each key id seals (``"plain"``: not sealed).

    Read-only: for checking that an old key is no longer needed before dropping it.
    """
    usage: Counter[str] = Counter()
    for table, column in sealed_columns():
        (key,) = table.primary_key.columns
        async with db() as session:
            result = await session.stream(select(cast(column, Text)).order_by(key))
            async for (raw,) in result:
                if raw is not None:
                    is_json = isinstance(column.type, SealedJSON)
                    _tally_strings(json.loads(raw) if is_json else raw, usage)
    for path in await asyncio.to_thread(lambda: list(store.paths())):
        head = await asyncio.to_thread(_head, store, path)
        usage[_key_of(head)] += 1
    return usage


def _tally_strings(value: Any, usage: Counter[str]) -> None:
    if isinstance(value, str):
        usage[_key_of(value)] += 1
    elif isinstance(value, dict):
        for item in value.values():
            _tally_strings(item, usage)
    elif isinstance(value, list):
        for item in value:
            _tally_strings(item, usage)


def _key_of(value: str | bytes) -> str:
    if not is_sealed(value):
        return "plain"
    try:
        return sealed_with(value)
    except DataKeyError:
        return "damaged"


def _head(store: FileStore, path: str) -> bytes:
    with store.resolve(path).open("rb") as stored:
        return stored.read(64)
