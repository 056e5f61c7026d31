"""The register at scale: the recurring-sender lookup and the CSV export of every report.

* Lookup: what the bot does for a report when it builds a triage card: normalise and hash
  the senders it names (``bot.cases.senders``) and find the earlier reports naming any of
  them (``bot.storage.repos.senders.earlier_reports``), in its own session on the bot's
  engine. Timed over reports picked at random, with the database file read once first (a
  server that has been running has it in the page cache) and a short warm-up; p99 in ms.
* Export: ``python -m bot export register --format csv --out FILE`` as a subprocess, as an
  operator runs it; wall time, and the child's own peak resident memory (see
  :func:`peak_rss_mb`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import select

from bench.config import ROOT
from bot.cases.senders import digest, senders_in
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import senders as sender_register
from bot.storage.tables import Case

WARM_UP = 100


@dataclass(frozen=True)
class Lookup:
    """Timings of the recurring-sender lookup."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    lookups: int
    mean_earlier: float


@dataclass(frozen=True)
class Export:
    """The export of the whole register."""

    seconds: float
    peak_mb: float
    rows: int
    bytes: int


def lookup(database: Path, rows: int, count: int) -> Lookup:
    """Time ``count`` lookups for reports chosen at random among ``rows``, the file warm."""
    warm(database)
    return asyncio.run(_lookups(database, rows, count))


async def _lookups(database: Path, rows: int, count: int) -> Lookup:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    db = session_factory(engine)
    rng = random.Random(3)
    numbers = [rng.randrange(rows) for _ in range(WARM_UP + count)]
    try:
        async with db() as session:
            key = await sender_register.key(session=session)
            ids = [f"{n:032x}" for n in numbers]
            found = await session.execute(select(Case.id, Case.data).where(Case.id.in_(ids)))
            texts = {row.id: str(row.data.get("senders") or "") for row in found}
        timings, earlier = [], []
        for n, case_id in enumerate(ids):
            began = time.perf_counter()
            hashed = [digest(key, sender) for sender in senders_in(texts[case_id])]
            async with db() as session:
                matches = await sender_register.earlier_reports(session=session, case_id=case_id)
            if n >= WARM_UP and hashed:
                timings.append((time.perf_counter() - began) * 1000)
                earlier.append(len(matches))
    finally:
        await engine.dispose()
    cuts = statistics.quantiles(timings, n=100)
    return Lookup(cuts[49], cuts[98], max(timings), len(timings), statistics.mean(earlier))


def export(database: Path, out_dir: Path) -> Export:
    """Run the CSV export of every report; time it and take its peak memory."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "register.csv"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    env.pop("BOT_POLICY_PACK", None)
    env["PYTHONPATH"] = str(ROOT)
    arguments = ["-m", "bot", "export", "register", "--format", "csv", "--out", str(out)]
    said = out_dir / "export.out"
    began = time.monotonic()
    with said.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, *arguments], cwd=out_dir, env=env, stdout=stdout
        )
        peak = peak_rss_mb(process)
    seconds = time.monotonic() - began
    if process.returncode != 0:
        raise RuntimeError(f"the register export failed with exit code {process.returncode}")
    wrote = said.read_text().split()  # "Wrote N cases to FILE"
    size = out.stat().st_size
    out.unlink()
    return Export(seconds=seconds, peak_mb=peak, rows=int(wrote[1]), bytes=size)


def peak_rss_mb(process: subprocess.Popen[bytes]) -> float:
    """Wait for ``process``; return the highest resident memory it reached, in MiB.

    Read from the process's own high-water mark (``VmHWM``), which starts afresh at exec.
    ``getrusage``/``wait4`` cannot be used: Linux carries the high-water mark across exec,
    and the child is forked from this process, so they would report this process's size.
    """
    peak = 0.0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            kib = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM"))
            peak = max(peak, kib / 1024)
        except (OSError, StopIteration, ValueError):
            with contextlib.suppress(psutil.Error):
                peak = max(peak, psutil.Process(process.pid).memory_info().rss / 2**20)
        time.sleep(0.05)
    return peak


def warm(database: Path) -> None:
    """Read the database file once, as a server that has been running has it cached."""
    with database.open("rb") as stream:
        while stream.read(8 * 2**20):
            pass
