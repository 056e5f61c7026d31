"""SQLite's WAL checkpoints, taken off the event loop's thread while the server runs.

In WAL mode a commit appends pages to the ``-wal`` file, and the commit that finds 1,000
pages there copies them back into the database and syncs both files (a checkpoint), there
and then. The server's statements run on the event loop's thread (``sqlite_inline.py``),
so that press or draft stopped the loop for the copy and two fsyncs, and every request in
hand waited: in a burst of presses here, one commit in a hundred took 5 to 43 ms; on a
slower disk a sync takes longer.

:class:`Checkpointer` copies the WAL sooner, on a connection of its own in a worker thread
(sqlite3 lets go of the GIL while it works): every :data:`LOOK_EVERY_SECONDS` that the WAL
has changed, a PASSIVE checkpoint, which never waits for the writer or a reader and copies
what it can. Once everything in the WAL has been copied, the next commit starts it again
from its beginning, so it seldom reaches 1,000 pages; when it does (a checkpoint that kept
overlapping commits, a long read in another process), SQLite's own checkpoint in the commit
is still there, with little left to copy. Nothing is lost either way: a checkpoint copies
committed pages, it never decides what is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass

log = logging.getLogger(__name__)

LOOK_EVERY_SECONDS = 0.1


@dataclass(frozen=True)
class Checkpointed:
    """One checkpoint, as ``PRAGMA wal_checkpoint`` tells it: whether it was kept from
    finishing, the frames in the WAL, and how many of them have been copied."""

    busy: bool
    frames: int
    copied: int


class Checkpointer:
    """Checkpoints a SQLite database's WAL from a worker thread, on its own connection.

    Args:
        database: the database file's path.
        look_every: seconds between looks at the WAL.
    """

    def __init__(self, database: str, *, look_every: float = LOOK_EVERY_SECONDS) -> None:
        self._database = database
        self._wal = f"{database}-wal"
        self._look_every = look_every
        self._seen: tuple[int, int] | None = None
        self._connection: sqlite3.Connection | None = None
        self._stopping = asyncio.Event()
        self.checkpoints = 0

    async def run(self) -> None:
        """Checkpoint whenever the WAL changed, until stopped; then once more."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._look_every)
            if self._wal_changed():
                try:
                    await self.checkpoint()
                except sqlite3.OperationalError as error:  # another checkpoint is running
                    log.debug("WAL checkpoint put off: %s", error)
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed; trying again", exc_info=True)
        await asyncio.to_thread(self._close)

    def stop(self) -> None:
        """Ask :meth:`run` to take a last checkpoint and end."""
        self._stopping.set()

    async def checkpoint(self) -> Checkpointed:
        """One PASSIVE checkpoint now, in a worker thread."""
        done = await asyncio.to_thread(self._checkpoint)
        self.checkpoints += 1
        return done

    def _wal_changed(self) -> bool:
        try:
            stat = os.stat(self._wal)
        except FileNotFoundError:
            return False
        seen = (stat.st_size, stat.st_mtime_ns)
        changed, self._seen = seen != self._seen, seen
        return changed

    def _checkpoint(self) -> Checkpointed:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self._database,
                timeout=0,  # PASSIVE waits for nobody
                isolation_level=None,
                check_same_thread=False,  # used by one worker thread at a time
            )
        busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return Checkpointed(bool(busy), int(frames), int(copied))

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._connection.close()
            self._connection = None
