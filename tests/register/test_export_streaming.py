"""``export register`` over 20,000 cases: every row out, in flat memory, filters applied.

The bound is honest: the streamed export peaks near 1.5 MB here, while loading the same
cases at once (``select(Case)``, what a naive export does) peaks well over 100 MB; at
roughly 2 KB a case, 20,000 rows are about 40 MB. The test measures both.
"""

from __future__ import annotations

import asyncio
import csv
import json
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.storage.engine import create_engine, session_factory
from bot.storage.tables import Case
from tests.register.seeding import case_row, event_row, file_row, insert, migrated

CASES = 20_000
PEAK_BOUND = 10 * 1024 * 1024
STATES = ("new", "acknowledged", "in_progress", "closed")
START = datetime(2025, 1, 1, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Big:
    """The seeded database and when and in what state each case was made."""

    path: Path
    url: str
    made: list[tuple[datetime, str]]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Big:
    """20,000 abuse reports, 45 minutes apart, with timelines and evidence records."""
    path = tmp_path_factory.mktemp("big") / "bot.db"
    url = migrated(path)
    cases, events, files, made = [], [], [], []
    for i in range(CASES):
        at, state = START + timedelta(minutes=45 * i), STATES[i % 4]
        closed = at + timedelta(days=5) if state == "closed" else None
        row = case_row(i, at, state=state, closed_at=closed)
        cases.append(row)
        made.append((at, state))
        if state != "new":
            events.append(event_row(row["id"], 1, at + timedelta(hours=3), "acknowledge", state))
        if closed:
            events.append(event_row(row["id"], 2, closed, "close", "closed"))
        if i % 4 == 1:
            files += [file_row(row["id"], 2 * i, at), file_row(row["id"], 2 * i + 1, at)]
    insert(path, cases, events, files)
    return Big(path=path, url=url, made=made)


@pytest.fixture
def env(big: Big, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the CLI at the big database; returns a directory for outputs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", big.url)
    monkeypatch.delenv("BOT_POLICY_PACK", raising=False)
    return tmp_path


def _peak(run: object) -> int:
    tracemalloc.start()
    try:
        assert callable(run)
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def _load_everything(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return len((await session.scalars(select(Case))).all())
    finally:
        await engine.dispose()


def test_twenty_thousand_rows_in_flat_memory(big: Big, env: Path) -> None:
    warm = ["export", "register", "--format", "csv", "--to", "2000-01-01"]
    assert main([*warm, "--out", str(env / "none.csv")]) == 0  # imports, pack: not measured
    out = env / "register.csv"
    codes: list[int] = []
    peak = _peak(
        lambda: codes.append(main(["export", "register", "--format", "csv", "--out", str(out)]))
    )
    assert codes == [0]
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == CASES
    assert peak < PEAK_BOUND, f"streaming export peaked at {peak / 1e6:.1f} MB"
    naive = _peak(lambda: asyncio.run(_load_everything(big.url)))
    assert naive > PEAK_BOUND, "the bound would not catch an export that loads every row"
    closed = rows[3]
    assert closed["state"] == "closed" and closed["evidence_files"] == "0"
    assert closed["acknowledged_at"] == "2025-01-01T05:15:00+00:00"
    assert closed["closed_at"] == "2025-01-06T02:15:00+00:00"
    assert rows[1]["evidence_files"] == "2" and rows[1]["closed_at"] == ""


def test_json_is_one_streamed_array(env: Path) -> None:
    out = env / "register.json"
    peak = _peak(lambda: main(["export", "register", "--format", "json", "--out", str(out)]))
    items = json.loads(out.read_text(encoding="utf-8"))
    assert len(items) == CASES and peak < PEAK_BOUND
    assert items[0]["channel"] == "Social media" and items[0]["urgent"] is True
    assert [i["reference"] for i in items[:2]] == ["AB-2025-00000", "AB-2025-00001"]


def test_dates_and_states_filter(big: Big, env: Path) -> None:
    first, last = date(2025, 6, 1), date(2025, 6, 30)  # British Summer Time: days are local
    want = {"closed", "escalated", "in_progress"}
    expected = [
        at
        for at, state in big.made
        if first <= at.astimezone(LONDON).date() <= last
        if state in want
    ]
    out = env / "june.json"
    args = ["export", "register", "--format", "json", "--from", "2025-06-01", "--to"]
    code = main(
        [
            *args,
            "2025-06-30",
            "--state",
            "closed",
            "escalated",
            "--state",
            "in_progress",
            "--out",
            str(out),
        ]
    )
    items = json.loads(out.read_text(encoding="utf-8"))
    assert code == 0 and len(items) == len(expected) > 0
    assert {i["state"] for i in items} == {"closed", "in_progress"}
    assert items[0]["created_at"] >= "2025-06-01T00:00:00+01:00"
    assert items[-1]["created_at"] < "2025-07-01T00:00:00+01:00"
