"""Starting and stopping the servers under test, each as its own process on loopback.

A server counts as ready when its health URL first answers 200; the time from starting the
process to that answer is its start-up time. Output goes to a log file in the run's
directory (a pipe nobody reads would block a chatty server).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.config import ROOT

READY_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server: its process, where it answers and how long it took to."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    ready_seconds: float
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory now, in MiB."""
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def cpu_seconds(self) -> float:
        """CPU time the server's process has used so far (user and system, all threads)."""
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM), as an operator's supervisor would."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def answers(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def child_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with ``env`` on top and this checkout first on the path."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    return environment


def start(
    name: str,
    arguments: Sequence[str],
    *,
    port: int,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    health: str = "/healthz",
) -> Server:
    """Start ``python <arguments>`` and wait until ``health`` answers 200 on ``port``."""
    environment = child_environment(env)
    out = log.open("wb")  # one log per server per run
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, *arguments], cwd=cwd, env=environment, stdout=out, stderr=out
    )
    out.close()
    url = f"http://127.0.0.1:{port}{health}"
    while not answers(url):
        if process.poll() is not None or time.monotonic() - began > READY_TIMEOUT:
            process.kill()
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} did not start (see {log}):\n{tail}")
        time.sleep(0.005)
    ready = time.monotonic() - began
    print(f"  {name} is up (pid {process.pid}, log {log})", file=sys.stderr, flush=True)
    return Server(name, process, port, ready, log)


@contextlib.contextmanager
def running(
    name: str, arguments: Sequence[str], *, port: int, log: Path, **options: object
) -> Iterator[Server]:
    """A started server, stopped on the way out."""
    server = start(name, arguments, port=port, log=log, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
