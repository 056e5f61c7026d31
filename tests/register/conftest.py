"""Fixtures for the register commands: a database file and the environment the CLI reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.register.seeding import migrated


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A migrated, empty SQLite database file."""
    path = tmp_path / "bot.db"
    migrated(path)
    return path


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: Path) -> Path:
    """Run ``python -m bot`` in-process against ``database``, from a directory with no .env.

    Returns:
        The file store's root, for tests that put evidence in it.
    """
    store = tmp_path / "files"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("BOT_FILE_STORE", str(store))
    monkeypatch.delenv("BOT_POLICY_PACK", raising=False)
    return store
