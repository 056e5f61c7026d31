"""Fast seeding for the register tests: rows written straight in with SQLAlchemy core.

The repositories stamp events with the current time; the register's tests need chosen
times (months ago, hours apart) and tens of thousands of cases, so rows go in here with
``executemany`` in one transaction on a synchronous SQLite engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

from bot.storage import migrate
from bot.storage.tables import Case, CaseEvent, StoredFile

REPORTER = {"platform": "slack", "user_id": "U0SECRET", "display_name": "Private Person"}
DESCRIPTION = "He wrote to me again, said private things. " * 40  # about 1.7 KB, as reports are


def migrated(path: Path) -> str:
    """Create and migrate a SQLite database at ``path``; return its async URL."""
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(migrate.upgrade(url))
    return url


def case_row(
    number: int,
    created_at: datetime,
    *,
    state: str = "new",
    case_kind: str = "abuse_report",
    closed_at: datetime | None = None,
    **answers: Any,
) -> dict[str, Any]:
    """A ``cases`` row: an abuse report with the usual answers unless told otherwise."""
    data = {
        "channel": "social_media",
        "kind": "trolling",
        "platform": "twitter_x",
        "work_item": "Guideline on widgets",
        "reporter_role": "staff",
        "description": DESCRIPTION,
        "senders": "@someone",
        **answers,
    }
    return {
        "id": f"{number:032x}",
        "kind": case_kind,
        "reference": f"AB-{created_at.year}-{number:05d}",
        "state": state,
        "version": 1,
        "urgent": number % 7 == 0,
        "reporter_key": "slack:U0SECRET",
        "reporter": REPORTER,
        "assignee_key": None,
        "assignee": None,
        "data": data,
        "created_at": created_at,
        "updated_at": created_at,
        "closed_at": closed_at,
    }


def event_row(case_id: str, seq: int, at: datetime, event: str, to_state: str) -> dict[str, Any]:
    """A timeline row (placeholder hashes: the register does not check the chain)."""
    return {
        "case_id": case_id,
        "seq": seq,
        "at": at,
        "actor_key": "slack:U0TRIAGE",
        "actor_name": "Tri Age",
        "event": event,
        "from_state": None,
        "to_state": to_state,
        "detail": {},
        "internal": False,
        "prev_hash": "0" * 64,
        "hash": f"{seq:064x}",
    }


def file_row(case_id: str, number: int, at: datetime) -> dict[str, Any]:
    """A ``stored_files`` row for an evidence file (no bytes on disk)."""
    return {
        "id": f"f{number:031x}",
        "case_id": case_id,
        "session_id": None,
        "name": f"screenshot-{number}.png",
        "mime_type": "image/png",
        "size": 10,
        "sha256": "0" * 64,
        "path": "00/00/" + "0" * 64,
        "platform": "slack",
        "received_at": at,
    }


def insert(
    path: Path,
    cases: Iterable[dict[str, Any]],
    events: Iterable[dict[str, Any]] = (),
    files: Iterable[dict[str, Any]] = (),
    sql: Iterable[str] = (),
) -> None:
    """Write the rows (and any raw SQL) in one transaction."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            for statement in sql:
                connection.exec_driver_sql(statement)
            for model, rows in (
                (Case, list(cases)),
                (CaseEvent, list(events)),
                (StoredFile, list(files)),
            ):
                # A declarative class's __table__ is typed as any FromClause; these are Tables.
                table = cast(sa.Table, model.__table__)
                if rows:
                    connection.execute(sa.insert(table), rows)
    finally:
        engine.dispose()
