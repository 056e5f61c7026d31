"""The load driver: ``wrk`` replaying a request set, or a small aiohttp client for the smoke run.

``wrk`` holds ``connections`` connections open and sends the next request as soon as the
last answer arrives, for ``duration`` seconds, from one thread (the machine has two cores
and the server under test needs one). The Python driver does the same with asyncio tasks;
it is only used by ``--smoke`` on a machine without ``wrk``, and the results say so.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.config import BENCH
from bench.payloads import Request, read

REPLAY = BENCH / "replay.lua"
WRK_THREADS = 1


@dataclass(frozen=True)
class Load:
    """What one load run measured.

    Args:
        requests: answered requests.
        seconds: how long the run lasted.
        non_2xx: answers outside 2xx.
        socket_errors: connections refused, reset or timed out.
        p50_ms, p99_ms, max_ms: latency of the answers.
        started_at: the wall-clock time (``time.time()``) the run began.
    """

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    started_at: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_version() -> str | None:
    """``wrk``'s version line, or None when it is not installed."""
    if shutil.which("wrk") is None:
        return None
    run = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"\d+\.\d+(\.\d+)?", run.stdout + run.stderr)
    return f"wrk {found.group(0)}" if found else "wrk"


def run_wrk(url: str, requests: Path, *, duration: int, connections: int) -> Load:
    """Drive ``url`` with ``wrk`` and ``bench/replay.lua`` over the set in ``requests``."""
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(REPLAY),
        url,
        "--",
        str(requests),
        str(WRK_THREADS),
    ]
    started = time.time()
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_s"],
        non_2xx=figures["non_2xx"],
        socket_errors=sum(
            figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        max_ms=figures["max_ms"],
        started_at=started,
    )


def run_python(url: str, requests: Path, *, duration: int, connections: int) -> Load:
    """The same run with an aiohttp client (the smoke run's fallback when wrk is missing)."""
    return asyncio.run(_drive(url, read(requests), duration, connections))


async def _drive(base: str, requests: list[Request], duration: int, connections: int) -> Load:
    latencies: list[float] = []
    outside, errors, position = 0, 0, 0
    started_wall, started = time.time(), time.monotonic()
    deadline = started + duration

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal outside, errors, position
        while time.monotonic() < deadline:
            request = requests[position % len(requests)]
            position += 1
            sent = time.monotonic()
            try:
                async with session.request(
                    request.method, base + request.path, data=request.body, headers=request.headers
                ) as response:
                    await response.read()
                    outside += not 200 <= response.status < 300
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                continue
            latencies.append((time.monotonic() - sent) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Load(
        requests=len(latencies),
        seconds=elapsed,
        non_2xx=outside,
        socket_errors=errors,
        p50_ms=cuts[49],
        p99_ms=cuts[98],
        max_ms=max(latencies, default=0.0),
        started_at=started_wall,
    )


def drive(driver: str, url: str, requests: Path, *, duration: int, connections: int) -> Load:
    """Run the chosen driver (``"wrk"`` or ``"python"``)."""
    run = run_wrk if driver == "wrk" else run_python
    return run(url, requests, duration=duration, connections=connections)
