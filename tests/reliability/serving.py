"""``python -m bot serve`` as a process the crash tests start, ``kill -9`` and start again.

One SQLite file and one evidence file store outlive every process, as on a real host. Each
start gets a fresh port (no waiting for the old one to be released) and its own log, shown
when a test fails. The process is the one an operator runs, configured only through its
environment (``tests.scaleout.replicas`` builds that environment and the policy pack).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import update

from bot.storage.engine import create_engine, session_factory
from bot.storage.tables import OutboxMessage
from tests.e2e.test_serve import free_port
from tests.reliability.wire import Sessions, Site
from tests.scaleout.replicas import Replica, replica_environment
from tests.support.fake_slack import FakeSlack

READY_WITHIN = 90.0  # seconds: a cold start on two cores shared with the rest of the suite


class ServeProcess:
    """The bot's process, over and over, on the same database and file store."""

    def __init__(self, workdir: Path, fake_slack: FakeSlack, pack: Path) -> None:
        self.workdir = workdir
        self.database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
        self.files = workdir / "files"
        self._fake_slack, self._pack = fake_slack, pack
        self._engine = create_engine(self.database_url)
        self.db: Sessions = session_factory(self._engine)
        self._session: aiohttp.ClientSession | None = None
        self.replica: Replica | None = None
        self.starts = 0

    async def start(self) -> Site:
        """Start ``serve`` (it applies migrations) and wait until it answers ``/readyz``."""
        self.starts += 1
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        port = free_port()
        env = replica_environment(self.database_url, self._fake_slack, self._pack, self.files, port)
        log_path = self.workdir / f"serve-{self.starts}.log"
        with log_path.open("w") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                cwd=self.workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.replica = Replica(f"serve-{self.starts}", port, process, log_path, self._session)
        deadline = time.monotonic() + READY_WITHIN
        while not await self.replica.ready():
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{self.replica.log()}")
            await asyncio.sleep(0.1)
        return Site(self.replica, self.db)

    async def kill(self) -> None:
        """``kill -9``: no shutdown, no finishing of anything."""
        assert self.replica is not None
        process = self.replica.process
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert process.returncode == -signal.SIGKILL

    async def let_leases_run_out(self) -> int:
        """What 60 s of waiting would do: the dead process's leases on outbox rows end.

        Returns how many rows it held. (The restarted process then claims them like any
        other due row; the test does not wait the minute.)
        """
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        async with self.db.begin() as s:
            result = await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.claimed_until > past)
                .values(claimed_until=past)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def close(self) -> None:
        """Stop whatever is still running (gracefully) and let go of the database."""
        if self.replica is not None and self.replica.process.returncode is None:
            self.replica.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.replica.process.wait(), timeout=20)
            except TimeoutError:
                self.replica.process.kill()
                await self.replica.process.wait()
        if self._session is not None:
            await self._session.close()
        await self._engine.dispose()
