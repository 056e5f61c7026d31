"""``python -m bot audit verify``: tamper with the database directly, run the command.

Cases are opened and their timelines written by the bot's own code (``open_case`` and the
events repository); then rows are changed, deleted or added behind its back, with plain
SQL, the way someone with database access would. The command runs as a subprocess and
must name the first event altered or removed, and exit 1; on an untouched database it
says the chain is intact and exits 0. One case runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import CaseKind
from bot.cases.service import open_case
from bot.model import Actor, Platform
from bot.records.audit import verify, verify_one
from bot.storage.engine import create_engine, session_factory
from bot.storage.migrate import upgrade
from bot.storage.repos import events
from bot.storage.repos.events import EventRow
from bot.storage.tables import Case, CaseEvent, CaseVersion
from tests.e2e.test_cli import run

REPORTER = Actor(Platform.SLACK, "U0REPORTER", "Rae Porter")
STEPS = ("acknowledge", "escalate", "record_action")  # after "submitted": 4 events a case


@dataclasses.dataclass
class Seeded:
    url: str
    references: list[str]
    timelines: dict[str, list[EventRow]]  # by reference


async def seed(url: str, count: int = 3) -> Seeded:
    """Open ``count`` abuse reports with four events each, as the bot does."""
    await upgrade(url)
    engine = create_engine(url)
    db = session_factory(engine)
    seeded = Seeded(url, [], {})
    try:
        for number in range(count):
            async with db.begin() as s:
                opened = await open_case(
                    s,
                    kind=CaseKind.ABUSE_REPORT,
                    prefix="AB",
                    actor=REPORTER,
                    answers={"description": f"report {number}: “quoted”, ünïcode"},
                )
                for step in STEPS:
                    await events.append(
                        session=s,
                        case_id=opened.case_id,
                        actor_key="slack:U0MANAGER",
                        actor_name="Mina Manager",
                        event=step,
                        from_state=None,
                        to_state=None,
                        detail={"note": f"{step} done"},
                    )
                timeline = await events.timeline(session=s, case_id=opened.case_id)
            seeded.references.append(opened.reference)
            seeded.timelines[opened.reference] = timeline
    finally:
        await engine.dispose()
    return seeded


async def tamper(url: str, change: Callable[[AsyncSession], Awaitable[Any]]) -> None:
    """Run ``change`` in its own transaction, straight on the tables."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as s:
            await change(s)
    finally:
        await engine.dispose()


def audit(url: str, cwd: Path, *args: str) -> Any:
    return run("audit", "verify", *args, cwd=cwd, DATABASE_URL=url)


def _alter(row: EventRow) -> Callable[[AsyncSession], Awaitable[Any]]:
    table = CaseEvent.__table__
    changed = update(table).where(table.c.id == row.id).values(detail={"note": "nothing happened"})
    return lambda s: s.execute(changed)


def _rehash(row: EventRow) -> Callable[[AsyncSession], Awaitable[Any]]:
    """Alter an event and give it a correct hash for its new contents (not its successor)."""
    forged = dataclasses.replace(row, detail={"note": "nothing happened"})
    fields = {f.name: getattr(forged, f.name) for f in dataclasses.fields(forged)}
    fields = {k: v for k, v in fields.items() if k not in ("id", "hash")}
    table = CaseEvent.__table__
    changed = update(table).where(table.c.id == row.id)
    return lambda s: s.execute(
        changed.values(detail=forged.detail, hash=events.event_hash(**fields))
    )


def _remove(row: EventRow) -> Callable[[AsyncSession], Awaitable[Any]]:
    table = CaseEvent.__table__
    return lambda s: s.execute(delete(table).where(table.c.id == row.id))


def _append_behind_its_back(last: EventRow) -> Callable[[AsyncSession], Awaitable[Any]]:
    """A well-formed fifth event, linked and hashed, that the case row never heard of."""
    fields = dataclasses.asdict(last) | {"seq": last.seq + 1, "prev_hash": last.hash}
    fields |= {"event": "close", "detail": {"outcome": "backdated"}}
    del fields["id"], fields["hash"]
    row = fields | {"hash": events.event_hash(**fields)}
    return lambda s: s.execute(insert(CaseEvent.__table__).values(**row))


def _remove_case(case_id: str) -> Callable[[AsyncSession], Awaitable[Any]]:
    async def change(s: AsyncSession) -> None:
        for model in (CaseEvent, CaseVersion):
            await s.execute(delete(model).where(model.case_id == case_id))
        await s.execute(delete(Case).where(Case.id == case_id))

    return change


TAMPERING = {
    "altered": (lambda t: _alter(t[1]), "event 2 (id {id2}) altered: its contents no longer match"),
    "altered and re-hashed": (
        lambda t: _rehash(t[1]),
        "event 2 (id {id2}) altered: event 3 (id {id3}) links to a different hash",
    ),
    "middle removed": (
        lambda t: _remove(t[1]),
        "event 2 removed: the timeline jumps from event 1 to event 3 (id {id3})",
    ),
    "last removed": (
        lambda t: _remove(t[3]),
        "event 4 removed: the case records 4 events but its timeline ends at event 3",
    ),
    "added": (
        lambda t: _append_behind_its_back(t[3]),
        "event 5 (id {id5}) added: it lies beyond the chain head the case records (event 4)",
    ),
    "whole case removed": (
        lambda t: _remove_case(t[0].case_id),
        "the whole case removed: its reference was handed out, but the case is gone",
    ),
}


@pytest.fixture
async def seeded(tmp_path: Path) -> Seeded:
    return await seed(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")


async def _ids(url: str, case_id: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            timeline = await events.timeline(session=s, case_id=case_id)
            return {f"id{e.seq}": e.id for e in timeline}
    finally:
        await engine.dispose()


async def test_an_untouched_database_is_intact(seeded: Seeded, tmp_path: Path) -> None:
    result = await asyncio.to_thread(audit, seeded.url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "3 cases, 12 events, chain intact"


@pytest.mark.parametrize("how", list(TAMPERING))
async def test_tampering_names_the_first_event_altered_or_removed(
    seeded: Seeded, tmp_path: Path, how: str
) -> None:
    victim = seeded.references[1]
    timeline = seeded.timelines[victim]
    make_change, expected = TAMPERING[how]
    await tamper(seeded.url, make_change(timeline))
    ids = {f"id{e.seq}": e.id for e in timeline} | await _ids(seeded.url, timeline[0].case_id)
    expected = f"{victim}: " + expected.format(**ids)

    result = await asyncio.to_thread(audit, seeded.url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(expected), lines
    assert lines[1].startswith("FAILED: 1 case(s) altered or removed")
    engine = create_engine(seeded.url)
    try:  # --case, in-process: the same finding for the one case, the others intact
        db = session_factory(engine)
        code, line = await verify_one(db, victim)
        assert code == 1 and line.startswith(expected)
        other = seeded.references[0]
        assert await verify_one(db, other) == (0, f"{other}: 4 events, chain intact")
    finally:
        await engine.dispose()


async def test_an_unknown_reference_is_not_tampering(seeded: Seeded, tmp_path: Path) -> None:
    result = await asyncio.to_thread(audit, seeded.url, tmp_path, "--case", "AB-1999-0001")
    assert result.returncode == 2 and "No case with reference" in result.stdout


async def test_tampering_on_postgresql(fresh_postgres_url: str, tmp_path: Path) -> None:
    seeded = await seed(fresh_postgres_url, count=2)
    clean = await asyncio.to_thread(audit, fresh_postgres_url, tmp_path)
    assert clean.returncode == 0 and clean.stdout.strip() == "2 cases, 8 events, chain intact"
    victim = seeded.references[0]
    changed = seeded.timelines[victim][2]
    await tamper(fresh_postgres_url, _alter(changed))
    result = await asyncio.to_thread(audit, fresh_postgres_url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(f"{victim}: event 3 (id {changed.id}) altered")


async def test_figures_walking_the_chains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """How long a walk takes (in-process, SQLite): printed for ``make test``'s output."""
    seeded = await seed(f"sqlite+aiosqlite:///{tmp_path / 'many.db'}", count=300)
    engine = create_engine(seeded.url)
    try:
        started = time.perf_counter()
        found = await verify(session_factory(engine), batch=100)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert found.breaks == [] and (found.cases, found.events) == (300, 1200)
    with capsys.disabled():
        sys.stdout.write(
            f"\n[audit verify] {found.cases} cases, {found.events} events checked in "
            f"{elapsed * 1000:.0f} ms ({found.events / elapsed:,.0f} events/s, SQLite)\n"
        )


async def test_migration_0004_takes_each_head_from_the_events_already_there(
    tmp_path: Path,
) -> None:
    """A timeline written before 0004 (no head on the case row) verifies after it; cutting
    its last event off afterwards is then caught."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url, "0003")
    case_id, at = "c" * 32, dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    chain, prev_hash = [], events.GENESIS_HASH
    for seq, name in enumerate(("submitted", *STEPS), start=1):
        fields = {
            "case_id": case_id, "seq": seq, "at": at, "actor_key": "slack:U0MANAGER",
            "actor_name": "Mina Manager", "event": name, "from_state": None, "to_state": None,
            "detail": {"note": name}, "internal": False,
        }  # fmt: skip
        prev_hash, previous = events.event_hash(prev_hash=prev_hash, **fields), prev_hash
        stored_at = at.replace(tzinfo=None).isoformat(sep=" ")
        chain.append((case_id, seq, stored_at, "slack:U0MANAGER", "Mina Manager", name,
                      json.dumps({"note": name}), previous, prev_hash))  # fmt: skip
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO cases (id, kind, reference, state, version, urgent, reporter_key,"
            " reporter, data, created_at, updated_at) VALUES (?, 'abuse_report',"
            " 'AB-2026-0001', 'new', 1, 0, 'slack:U0REPORTER', '{}', '{}', ?, ?)",
            (case_id, chain[0][2], chain[0][2]),
        )
        connection.executemany(
            "INSERT INTO case_events (case_id, seq, at, actor_key, actor_name, event, detail,"
            " internal, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            chain,
        )
    await upgrade(url)
    engine = create_engine(url)
    try:
        db = session_factory(engine)
        assert await verify_one(db, "AB-2026-0001") == (0, "AB-2026-0001: 4 events, chain intact")
        await tamper(url, lambda s: s.execute(delete(CaseEvent).where(CaseEvent.seq == 4)))
        code, line = await verify_one(db, "AB-2026-0001")
    finally:
        await engine.dispose()
    assert code == 1 and line.startswith("AB-2026-0001: event 4 removed")
