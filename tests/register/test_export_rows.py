"""What a register row says: the pack's words, times from the timeline, no personal data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.register.progress import Progress
from bot.register.writers import CsvRows, safe_cell
from tests.register.seeding import DESCRIPTION, case_row, event_row, file_row, insert

AT = datetime(2026, 2, 3, 9, 30, tzinfo=UTC)


def _seed(database: Path) -> None:
    hostile = case_row(1, AT, work_item='=HYPERLINK("http://x")', reporter_role="trainee")
    reopened = case_row(2, AT + timedelta(hours=1), state="in_progress", channel="email")
    business = case_row(3, AT + timedelta(hours=2), case_kind="business_case", state="approved")
    business["reference"] = "SC-2026-00003"
    insert(
        database,
        [hostile, reopened, business],
        events=[
            event_row(reopened["id"], 1, AT + timedelta(hours=2), "acknowledge", "acknowledged"),
            event_row(reopened["id"], 2, AT + timedelta(days=2), "close", "closed"),
            event_row(reopened["id"], 3, AT + timedelta(days=3), "reopen", "in_progress"),
        ],
        files=[file_row(hostile["id"], n, AT) for n in range(3)],
    )


def test_rows_in_the_packs_words_without_personal_data(database: Path, cli_env: Path) -> None:
    _seed(database)
    out = Path("register.csv")
    assert main(["export", "register", "--format", "csv", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Private Person" not in text and "U0SECRET" not in text
    assert DESCRIPTION[:20] not in text and "@someone" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["reference"] for r in rows] == ["AB-2026-00001", "AB-2026-00002", "SC-2026-00003"]
    hostile, reopened, business = rows
    assert hostile["work_item"] == '\'=HYPERLINK("http://x")'
    assert hostile["reporter_role"] == "Trainee" and hostile["evidence_files"] == "3"
    assert hostile["platform"] == "X (Twitter)" and hostile["abuse_kind"] == "Trolling"
    assert reopened["channel"] == "Email"
    assert reopened["acknowledged_at"] == "2026-02-03T11:30:00+00:00"
    assert reopened["closed_at"] == ""  # closed once, then reopened: not closed now
    assert business["kind"] == "business_case" and business["state"] == "approved"


def test_kind_filter_and_stdout(
    database: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(database)
    assert main(["export", "register", "--format", "json", "--kind", "business_case"]) == 0
    assert [i["reference"] for i in json.loads(capsys.readouterr().out)] == ["SC-2026-00003"]


def test_empty_register_is_an_empty_array(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "register", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_dates_are_refused(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "register", "--format", "csv", "--from", "2026-13-01"])
    assert exit_.value.code == 2
    args = ["export", "register", "--format", "csv", "--from", "2026-02-02", "--to", "2026-02-01"]
    assert main(args) == 2


def test_a_missing_database_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/nothing.db")
    assert main(["export", "register", "--format", "csv"]) == 1
    assert not (tmp_path / "nothing.db").exists()


@pytest.mark.parametrize("cell", ["=1+1", "+44 20", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_quoted(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell
    out = io.StringIO()
    CsvRows(out, ["a", "b"]).write([cell, "plain"])
    assert out.getvalue().splitlines()[1].startswith(("'", "\"'"))


def test_plain_cells_stay_plain() -> None:
    assert [safe_cell(v) for v in ("a=b", 3, True, None)] == ["a=b", "3", "yes", ""]


class Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_progress_only_on_a_terminal(tty: bool) -> None:
    stream = Terminal(tty)
    progress = Progress(4, "Exporting", stream)
    for _ in range(4):
        progress.advance()
    progress.finish()
    shown = stream.getvalue()
    assert ("4/4 100%" in shown and shown.endswith("\n")) if tty else shown == ""
