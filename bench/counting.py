"""What a run left behind, counted: the calls the fakes saw, the rows the database holds,
the errors the server logged.

A bot on Slack answers before it works, so its figures come from here rather than from the
load driver: :func:`settle` waits, after the load, until the work the requests asked for
has been seen on the fakes or the bot has gone idle.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.delivery import LEASE_SECONDS

# A send that failed is taken up again when its lease runs out: wait longer than that.
QUIET_SECONDS = LEASE_SECONDS + 10.0
BUSY_TIMEOUT_MS = 5000
DRAIN_CAP_SECONDS = 600.0


@dataclass(frozen=True)
class Fakes:
    """The running fakes (:mod:`bench.fakes`)."""

    slack_port: int
    connector_port: int

    @property
    def slack_api_url(self) -> str:
        return f"http://127.0.0.1:{self.slack_port}/api/"

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.connector_port}/"

    def stats(self, which: str) -> dict[str, Any]:
        port = self.slack_port if which == "slack" else self.connector_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
            found: dict[str, Any] = json.load(response)
        return found


def floor_figures(database: Path) -> dict[str, int]:
    """What a press floor's database holds: presses recorded, card updates unsent."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        acknowledged = db.execute("SELECT count(*) FROM case_events").fetchone()[0]
        pending = db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    return {"acknowledged": int(acknowledged), "outbox_pending": int(pending)}


def settle(
    fakes: Fakes,
    seen_on: tuple[str, tuple[str, ...]],
    before: dict[str, Any],
    expected: int,
    database: Path | None,
) -> tuple[int, float]:
    """Wait until the fake has seen ``expected`` calls of the methods, or the bot is idle.

    The bot counts as busy while the calls keep coming or its database keeps changing
    (transitions recorded, drafts opened, messages sent): under a burst the delivery loop
    may send nothing for a while as it waits its turn for the database. With no
    ``database`` (a floor), only the calls count.

    Returns:
        How many calls came during the run, and the time of the last one.
    """
    which, methods = seen_on
    started = time.monotonic()
    count, last, quiet_since = 0, 0.0, time.monotonic()
    progress = database_progress(database) if database is not None else 0
    while time.monotonic() - started < DRAIN_CAP_SECONDS:
        stats = fakes.stats(which)
        now_count = sum(
            stats["counts"].get(m, 0) - before[which]["counts"].get(m, 0) for m in methods
        )
        now_progress = database_progress(database) if database is not None else 0
        if now_count != count or now_progress != progress:
            count, progress, quiet_since = now_count, now_progress, time.monotonic()
        last = max((stats["last"].get(m, 0.0) for m in methods), default=0.0)
        if count >= expected and time.monotonic() - quiet_since > 0.5:
            break
        if time.monotonic() - quiet_since > QUIET_SECONDS:
            break
        time.sleep(0.25)
    return count, last


def database_progress(database: Path) -> int:
    """A number that grows while the bot works through a backlog (read-only, WAL reader)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        row = db.execute(
            "SELECT (SELECT count(*) FROM case_events) + (SELECT count(*) FROM flow_sessions)"
            " + (SELECT count(*) FROM outbox WHERE status != 'pending')"
        ).fetchone()
    return int(row[0])


def database_figures(database: Path) -> dict[str, int]:
    """What the run left in the database: transitions recorded, messages still queued."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        acknowledged = connection.execute(
            "SELECT count(*) FROM case_events WHERE event = 'acknowledge'"
        ).fetchone()[0]
        queued = connection.execute(
            "SELECT count(*) FROM outbox WHERE status = 'pending'"
        ).fetchone()[0]
        drafts = connection.execute(
            "SELECT count(*) FROM flow_sessions WHERE status = 'open'"
        ).fetchone()[0]
    return {"acknowledged": acknowledged, "outbox_pending": queued, "open_drafts": drafts}


def errors_logged(log: Path) -> int:
    """Lines the server logged at ERROR (a failed listener, a failed delivery)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(1 for line in text.splitlines() if " ERROR " in line)
