"""A pytest plugin that runs a throwaway PostgreSQL server for the test session.

The storage contract tests run the same repository tests on SQLite and PostgreSQL, so the
PostgreSQL behaviour (``FOR UPDATE SKIP LOCKED``, real concurrent transactions) is tested,
not assumed. The server comes from the binaries on ``PATH`` (or
``/usr/lib/postgresql/*/bin``), lives in a temporary directory, listens on a free loopback
port with trust authentication and ``fsync=off``, and is stopped at the end of the session.
When running as root, PostgreSQL refuses to start, so it runs as the ``postgres`` user.

Fixtures:

* ``postgres_url``: the URL of a database created once for the session.
* ``postgres_database_factory``: call it to get the URL of a brand-new, empty database,
  e.g. one per test module or per test.
* ``fresh_postgres_url``: a brand-new database for one test.

Tests using these are marked ``postgres`` automatically, so ``-m "not postgres"`` skips
them. Without PostgreSQL binaries they are skipped, with the reason printed.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_FIXTURES = {"postgres_url", "postgres_database_factory", "fresh_postgres_url", "postgres_server"}
_SUPERUSER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server: where it listens and how to run its client tools."""

    host: str
    port: int
    bindir: Path

    def url(self, database: str) -> str:
        """The asyncpg URL of ``database`` on this server."""
        return f"postgresql+asyncpg://{_SUPERUSER}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` and return its URL."""
        command = [
            str(self.bindir / "psql"),
            *("-h", self.host, "-p", str(self.port), "-U", _SUPERUSER, "-d", "postgres"),
            *("-v", "ON_ERROR_STOP=1", "-q", "-c", f'CREATE DATABASE "{name}"'),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        return self.url(name)


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``psql``, or ``None``."""
    on_path = shutil.which("initdb")
    candidates = [Path(os.path.realpath(on_path)).parent] if on_path else []
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += [Path(path) for path in versions]
    for directory in candidates:
        if all((directory / tool).exists() for tool in ("initdb", "pg_ctl", "psql")):
            return directory
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", _SUPERUSER, "--", *command]
    return command


def _run(command: list[str]) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def running_server(bindir: Path) -> Iterator[PostgresServer]:
    """Start a server in a temporary directory; stop it and remove the directory afterwards."""
    base = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (base, sockets):
            shutil.chown(path, user=_SUPERUSER, group=None)
    port = _free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", _SUPERUSER, "-A", "trust"]
    pg_ctl = str(bindir / "pg_ctl")
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    try:
        _run([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"])
        try:
            _run(
                [pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"]
            )
        except RuntimeError as error:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{error}\nserver log:\n{server_log}") from error
        try:
            yield PostgresServer(host="127.0.0.1", port=port, bindir=bindir)
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; skips the test when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl, psql) not found on PATH or /usr/lib"
        print(f"\nskipping PostgreSQL tests: {reason}")
        pytest.skip(reason)
    with running_server(bindir) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_database_factory(postgres_server: PostgresServer) -> Callable[[], str]:
    """A function returning the URL of a new, empty database each time it is called."""
    counter = itertools.count(1)

    def make() -> str:
        return postgres_server.create_database(f"test_{os.getpid()}_{next(counter)}")

    return make


@pytest.fixture(scope="session")
def postgres_url(postgres_database_factory: Callable[[], str]) -> str:
    """``postgresql+asyncpg://postgres@127.0.0.1:PORT/DB`` of a database for the session."""
    return postgres_database_factory()


@pytest.fixture
def fresh_postgres_url(postgres_database_factory: Callable[[], str]) -> str:
    """The URL of a database created for this test alone."""
    return postgres_database_factory()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``postgres`` marker (harmless if pyproject.toml already does)."""
    config.addinivalue_line("markers", "postgres: needs the throwaway PostgreSQL server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a PostgreSQL fixture as ``postgres``."""
    for item in items:
        if _FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
