"""The two database backends every contract test runs on, and SQLite's query plans.

``BACKENDS`` parametrises a fixture; :func:`database_url` turns its param into an empty
database on that backend (a SQLite file under ``tmp_path``, or a fresh database on the
throwaway PostgreSQL server of ``tests.support.postgres``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on the backend ``request.param`` names, not yet migrated."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    make: Callable[[], str] = request.getfixturevalue("postgres_database_factory")
    return make()


def sqlite_plan(path: Path, statement: Any) -> list[str]:
    """SQLite's ``EXPLAIN QUERY PLAN`` steps for a Core statement on the database at ``path``."""
    compiled = statement.compile(
        dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}
    )
    parameters = [None for _ in compiled.positiontup or ()]  # a plan does not look at values
    with sqlite3.connect(path) as connection:
        return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {compiled}", parameters)]
