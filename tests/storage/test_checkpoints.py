"""WAL checkpoints off the event loop's thread: the server's commits stop copying the WAL
back into the database themselves, because a worker thread has already done it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import CHECKPOINTER
from bot.model import Actor, Platform
from bot.storage.checkpoints import Checkpointed, Checkpointer
from bot.storage.engine import checkpointer_for, create_engine
from tests.e2e.teams_support import eventually
from tests.support.bot_fixtures import BotClient

ROWS = 300  # each row a page of its own: enough frames to see, well under 1,000


@contextlib.contextmanager
def writer(path: Path) -> Iterator[sqlite3.Connection]:
    """A WAL-mode connection that never checkpoints by itself, as a busy server's would not
    get round to: whatever is copied, the checkpointer copied."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
    try:
        yield connection
    finally:
        connection.close()


def write(connection: sqlite3.Connection, rows: int = ROWS) -> None:
    for _ in range(rows):
        connection.execute("INSERT INTO t (body) VALUES (randomblob(3000))")


def frames_in_wal(path: Path) -> int:
    """The WAL's frames as a fresh connection sees them (a PASSIVE checkpoint reports them)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as probe:
        return int(probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


async def test_a_checkpoint_copies_every_committed_frame(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with writer(path) as connection:
        write(connection)
        checkpointer = Checkpointer(str(path))
        done = await checkpointer.checkpoint()
        assert done.busy is False and done.frames >= ROWS
        assert done.copied == done.frames
        write(connection, rows=1)  # everything was copied: the next commit starts the WAL again
        assert frames_in_wal(path) < 10
        checkpointer.stop()
        await checkpointer.run()  # stopped already: only the last checkpoint, then closed


async def test_the_loop_checkpoints_when_the_wal_changes_and_only_then(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with writer(path) as connection:
        checkpointer = Checkpointer(str(path), look_every=0.01)
        running = asyncio.create_task(checkpointer.run())
        try:
            write(connection)
            await eventually(lambda: checkpointer.checkpoints >= 1, within=5)
            settled = checkpointer.checkpoints
            await asyncio.sleep(0.2)  # twenty looks at a WAL that did not change
            assert checkpointer.checkpoints == settled
            write(connection, rows=5)
            await eventually(lambda: checkpointer.checkpoints > settled, within=5)
        finally:
            checkpointer.stop()
            await asyncio.wait_for(running, timeout=5)
    assert frames_in_wal(path) < ROWS


async def test_a_checkpoint_never_waits_for_the_writer(tmp_path: Path) -> None:
    """PASSIVE copies what is committed and leaves the open transaction alone."""
    path = tmp_path / "bot.db"
    with writer(path) as connection:
        write(connection)
        connection.execute("BEGIN IMMEDIATE")
        write(connection, rows=10)
        done = await asyncio.wait_for(Checkpointer(str(path)).checkpoint(), timeout=5)
        assert isinstance(done, Checkpointed) and done.copied >= ROWS
        connection.execute("COMMIT")


@pytest.mark.parametrize(
    ("url", "runs"),
    [
        ("sqlite+aiosqlite:///{tmp}/bot.db", True),
        ("sqlite+aiosqlite:///:memory:", False),
        ("sqlite+aiosqlite:///file:shared?mode=memory&cache=shared&uri=true", False),
        ("postgresql+asyncpg://bot@127.0.0.1:1/bot", False),
    ],
)
async def test_a_checkpointer_is_for_a_sqlite_file_only(
    tmp_path: Path, url: str, runs: bool
) -> None:
    engine = create_engine(url.format(tmp=tmp_path))
    try:
        checkpointer = checkpointer_for(engine)
        assert (checkpointer is not None) is runs
    finally:
        await engine.dispose()


async def test_the_served_bot_checkpoints_its_wal_in_the_background(bot: BotClient) -> None:
    """``serve`` runs the checkpointer beside a SQLite file, and stops it with the app."""
    checkpointer = bot.app[CHECKPOINTER]
    for n in range(20):
        person = Actor(Platform.SLACK, f"U0WAL{n:04d}", "Staff")
        await bot.core.start_flow(actor=person, flow="abuse_report")
    await eventually(lambda: checkpointer.checkpoints >= 1, within=5)
