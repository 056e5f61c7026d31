"""The register's fast read, on SQLite and PostgreSQL: the same records as a plain ORM read.

:func:`bot.register.query.records` reads pages of plain rows and opens sealed answers and
stored times itself (see that module). Here it is checked against the obvious, slow reading
of the same cases through the ORM, on a register with the awkward cases: answers sealed
with the key, written before there was a key (plain, or escaped because they look sealed),
null or missing; most cases created at the very same moment, across page boundaries; a case
closed without ``closed_at``, one closed and reopened, one acknowledged twice. On SQLite, a
page's query must start its walk of the ``created_at`` index at the last case seen: walking
from the start made an export of a million cases quadratic.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.policy.loader import load_default_pack
from bot.register import rows
from bot.register.query import ANSWERS, Filters, Record, records, utc
from bot.register.rows import COLUMNS, Labeller, register_row, register_values
from bot.register.writers import CsvRows, JsonRows, safe_cell
from bot.storage import migrate
from bot.storage.crypto import DataCipher, generate_key
from bot.storage.engine import create_engine, session_factory
from bot.storage.tables import Case, CaseEvent, StoredFile
from bot.storage.types import UTCDateTime
from tests.register.seeding import case_row, event_row, file_row, migrated
from tests.register.seeding import insert as insert_rows
from tests.support.backends import BACKENDS, database_url

Sessions = async_sessionmaker[AsyncSession]
AT = datetime(2026, 3, 29, 0, 30, 15, 250000, tzinfo=UTC)  # the clocks go forward in London
KEY = generate_key()


def _cases() -> list[dict[str, Any]]:
    """Twelve cases, eight of them made at the very same moment."""
    answers: list[dict[str, Any]] = [
        {"channel": "email"},
        {"work_item": "sealed:looks sealed, but was typed"},
        {"work_item": "=1+1", "reporter_role": "  two\n lines "},
        {"channel": None},
        {"platform": "ünïcødé"},
        {"kind": "sealed:plain:typed like an escape"},
    ]
    made = []
    for n in range(12):
        at = AT if n % 3 else AT + timedelta(minutes=n, microseconds=n)
        state = ("closed", "in_progress", "acknowledged", "new")[n % 4]
        closed_at = AT + timedelta(days=2) if state == "closed" and n % 8 == 0 else None
        row = case_row(n, at, state=state, closed_at=closed_at, **answers[n % 6])
        if n % 5 == 4:
            del row["data"]["reporter_role"]
        made.append(row)
    return made


def _events(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Acknowledged twice (the first counts), closed twice (the last counts), reopened."""
    made = []
    for case in cases:
        steps = [("acknowledge", 3), ("acknowledge", 1)] if case["state"] != "new" else []
        if case["state"] in ("closed", "in_progress"):
            steps += [("close", 30), ("close", 40)]
        if case["state"] == "in_progress":
            steps.append(("reopen", 50))
        for seq, (name, hours) in enumerate(steps, start=1):
            at = AT + timedelta(hours=hours, microseconds=seq)
            made.append(event_row(case["id"], seq, at, name, case["state"]))
    return made


async def _seed(sessions: Sessions, cases: list[dict[str, Any]]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(insert(Case), cases)
        await session.execute(insert(CaseEvent), _events(cases))
        files = [
            file_row(case["id"], 10 * int(case["id"], 16) + k, AT)
            for case in cases
            for k in range(int(case["id"], 16) % 3)
        ]
        await session.execute(insert(StoredFile), files)


@pytest.fixture(params=BACKENDS)
async def register(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sessions]:
    """The register on each backend: half written before the key was set, half with it."""
    url = database_url(request, tmp_path)
    await migrate.upgrade(url)
    before, keyed = create_engine(url), create_engine(url, cipher=DataCipher.from_text(KEY))
    cases = _cases()
    await _seed(session_factory(before), cases[:6])
    await _seed(session_factory(keyed), cases[6:])
    yield session_factory(keyed)
    await before.dispose()
    await keyed.dispose()


async def _read_plainly(sessions: Sessions) -> list[Record]:
    """Each case through the ORM, its timeline and files read one by one."""
    found = []
    async with sessions() as session:
        for case in await session.scalars(select(Case).order_by(Case.created_at, Case.id)):
            timeline = await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
            times: dict[str, list[datetime]] = {}
            for step in timeline:
                times.setdefault(step.event, []).append(step.at)
            files = await session.scalars(select(StoredFile).where(StoredFile.case_id == case.id))
            closes = times.get("close")
            closed = case.closed_at or (max(closes) if case.state == "closed" and closes else None)
            acknowledged = min(times["acknowledge"]) if "acknowledge" in times else None
            answers = {key: case.data.get(key) for key in ANSWERS}
            found.append(
                Record(
                    case.id,
                    case.reference,
                    case.kind,
                    case.state,
                    case.urgent,
                    case.created_at,
                    acknowledged,
                    closed,
                    answers,
                    len(files.all()),
                )
            )
    return found


async def test_pages_read_what_the_orm_reads(register: Sessions) -> None:
    plainly = await _read_plainly(register)
    assert [r async for r in records(register, Filters(), page_size=3)] == plainly
    assert {r.answers["work_item"] for r in plainly} >= {"sealed:looks sealed, but was typed"}
    closed = [r.closed_at for r in plainly if r.state == "closed"]
    last_close = AT + timedelta(hours=40, microseconds=4)
    assert closed == [AT + timedelta(days=2), last_close, AT + timedelta(days=2)]
    assert [r.closed_at for r in plainly if r.state == "in_progress"] == [None] * 3
    assert all(r.created_at.utcoffset() == timedelta(0) for r in plainly)
    until = AT + timedelta(minutes=8)
    some = Filters(since=AT, until=until, states=("closed", "new"))
    expected = [r for r in plainly if r.state in some.states and r.created_at < until]
    assert [r async for r in records(register, some, page_size=2)] == expected


async def _statements(url: str, page_size: int) -> list[tuple[str, Any]]:
    """Read the whole register; return each page's statement and parameters."""
    engine = create_engine(url)
    pages: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _page(_c: Any, _k: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "LIMIT" in statement:
            pages.append((statement, parameters))

    try:
        async for _ in records(session_factory(engine), Filters(), page_size=page_size):
            pass
    finally:
        await engine.dispose()
    return pages


def test_a_page_starts_its_walk_at_the_last_case_seen(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    url = migrated(path)
    insert_rows(path, [case_row(n, AT + timedelta(minutes=n // 2)) for n in range(7)])
    pages = asyncio.run(_statements(url, page_size=2))
    assert len(pages) == 4
    statement, parameters = pages[-1]
    with sqlite3.connect(path) as connection:
        plan = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert not [step for step in plan if step.startswith("SCAN cases")], plan
    assert "SEARCH cases USING INDEX ix_cases_created_at (created_at>?)" in plan


@pytest.mark.parametrize(
    "stored",
    [
        "2026-03-29 00:30:15.250000",
        "2026-03-29 01:30:15",
        "2026-03-29T02:30:15+01:00",
        "2026-03-29T00:30:15Z",
        datetime(2026, 3, 29, 0, 30, 15),
        datetime(2026, 3, 29, 5, 30, 15, tzinfo=timezone(timedelta(hours=5))),
        None,
    ],
)
def test_stored_times_read_as_the_column_type_reads_them(stored: Any) -> None:
    expected = UTCDateTime().process_result_value(stored, sqlite.dialect())
    read = utc(stored)
    assert read == expected
    assert read is None or read.utcoffset() == timedelta(0)


def test_labels_stay_right_past_what_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "REMEMBERED", 2)
    labeller = Labeller(load_default_pack())
    typed = ["social_media", "email", " social_media ", "something\nelse", "email"]
    assert [labeller.label("channel", answer) for answer in typed * 2] == [
        "Social media",
        "Email",
        "Social media",
        "something else",
        "Email",
    ] * 2
    assert labeller.label("channel", None) == ""


def test_a_cell_is_what_the_value_prints() -> None:
    class Shown(str):
        def __str__(self) -> str:
            return "=shown"

    assert safe_cell(Shown("plain")) == "'=shown"
    assert [safe_cell(v) for v in (0, 2.5, False, "", "-1")] == ["0", "2.5", "no", "", "'-1"]


def test_csv_and_json_rows_follow_the_columns() -> None:
    labeller, zone = Labeller(load_default_pack()), ZoneInfo("Europe/London")
    answers = dict.fromkeys(ANSWERS, None) | {"kind": "trolling", "channel": "=email"}
    record = Record("1", "AB-1", "abuse_report", "new", True, AT, None, None, answers, 2)
    values = register_values(record, labeller, zone)
    assert list(register_row(record, labeller, zone)) == list(COLUMNS)
    assert register_row(record, labeller, zone)["abuse_kind"] == "Trolling"
    out = io.StringIO()
    JsonRows(out, list(COLUMNS)).write_rows([values])
    [item] = json.loads(out.getvalue() + "]")
    assert item == register_row(record, labeller, zone) and item["created_at"].endswith("+00:00")
    out = io.StringIO()
    CsvRows(out, list(COLUMNS)).write_rows([values, values])
    lines = out.getvalue().split("\r\n")
    assert (
        lines[1]
        == lines[2]
        == "AB-1,abuse_report,new,yes,2026-03-29T00:30:15+00:00,,,'=email,Trolling,,,,2"
    )
