"""``report monthly``: the twelve-month window, counts under 5 withheld, times, charts."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.register.charts import draw
from bot.register.stats import FEWER, month_window, parse_month, spread
from tests.register.seeding import case_row, event_row, insert

JAN = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def _seed(database: Path, sql: list[str] | None = None) -> list[str]:
    """Seven January reports with timelines, two in February, and some outside the window."""
    cases, events = [], []
    for i in range(7):
        closed = JAN + timedelta(days=i + 1) if i < 5 else None
        row = case_row(i, JAN, state="closed" if closed else "acknowledged", closed_at=closed)
        cases.append(row)
        events.append(event_row(row["id"], 1, JAN + timedelta(hours=i + 1), "acknowledge", "a"))
        if closed:
            events.append(event_row(row["id"], 2, closed, "close", "closed"))
    feb = datetime(2026, 2, 2, tzinfo=UTC)
    cases += [
        case_row(10, feb, channel="email", kind="threat", work_item="Board paper"),
        case_row(11, feb, channel="email", kind="threat", work_item="board  PAPER"),
        case_row(12, datetime(2025, 3, 31, 22, 59, tzinfo=UTC)),  # 23:59 GMT: March, out
        case_row(13, datetime(2025, 3, 31, 23, 30, tzinfo=UTC)),  # 00:30 BST: April, in
        case_row(14, datetime(2026, 3, 31, 23, 30, tzinfo=UTC)),  # 00:30 BST: April, out
        case_row(15, JAN, case_kind="business_case", state="approved"),
    ]
    insert(database, cases, events, sql=sql or [])
    return [row["id"] for row in cases]


def _report(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "out" / "monthly.html"
    assert main(["report", "monthly", *args, "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def _cells(page: str) -> list[str]:
    return re.findall(r"<td[^>]*>([^<]*)</td>", page)


def _table(page: str, title: str) -> dict[str, str]:
    section = page.split(f"<h2>{title}</h2>", 1)[1].split("</table>", 1)[0]
    cells = _cells(section)
    return dict(zip(cells[::2], cells[1::2], strict=True))


def test_counts_window_and_suppression(database: Path, cli_env: Path, tmp_path: Path) -> None:
    _seed(database, sql=["DROP TABLE sender_hashes"])  # a database from before recurring senders
    page = _report(tmp_path, "--month", "2026-03")
    assert not {"1", "2", "3", "4"} & set(_cells(page)), "a count under 5 was published"
    months = _table(page, "Reports by month")
    assert list(months) == [f"{m} 2025" for m in ("Apr", "May", "Jun", "Jul", "Aug", "Sep")] + [
        "Oct 2025",
        "Nov 2025",
        "Dec 2025",
        "Jan 2026",
        "Feb 2026",
        "Mar 2026",
    ]
    assert months["Jan 2026"] == "7" and months["Feb 2026"] == FEWER
    assert months["Apr 2025"] == FEWER and months["Mar 2026"] == "0"
    channels = _table(page, "Reports by channel")
    assert channels["Social media"] == "8" and channels["Email"] == FEWER  # 7 + April's
    assert channels["Letter"] == "0"
    kinds = _table(page, "Reports by kind of contact")
    assert kinds["Trolling"] == "8" and kinds["Threats"] == FEWER
    work = _table(page, "Reports by piece of work")
    assert work == {"Guideline on widgets": "8", "Board paper": FEWER}  # case and spaces folded
    times = page.split("<h2>Time to acknowledge and to close</h2>", 1)[1]
    assert "<td>Time to acknowledge</td><td>7</td><td>4.0 hours</td><td>6.4 hours</td>" in times
    assert "<td>Time to close</td><td>5</td><td>3.0 days</td><td>4.6 days</td>" in times
    assert "Recurring senders: not yet available." in page


def test_charts_are_embedded_png(database: Path, cli_env: Path, tmp_path: Path) -> None:
    _seed(database)
    page = _report(tmp_path, "--month", "2026-03")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4
    for image in images:
        assert base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "by-month.png").write_bytes(base64.b64decode(images[0]))
    assert "<script" not in page and "http" not in page.split("</style>", 1)[1]


def test_small_groups_hide_their_times(database: Path, cli_env: Path, tmp_path: Path) -> None:
    _seed(database)
    page = _report(tmp_path, "--month", "2026-02", "--out", str(tmp_path / "ignored"))
    assert "Feb 2026" in page and "Mar 2026" not in page
    page = _report(tmp_path, "--month", "2025-04")
    assert "<td>Time to acknowledge</td><td>0</td><td>no reports yet</td>" in page


def test_recurring_senders_once_the_table_exists(
    database: Path, cli_env: Path, tmp_path: Path
) -> None:
    ids = _seed(database)
    rows = [(ids[0], f"s{n}") for n in range(6)] + [(ids[1], f"s{n}") for n in range(6)]
    rows += [(ids[2], "lonely"), (ids[9], "old"), (ids[10], "old")]  # "old": once before the window
    values = ", ".join(f"('{case}', '{sender}', '2026-01-10 09:00:00')" for case, sender in rows)
    statement = f"INSERT INTO sender_hashes (case_id, digest, created_at) VALUES {values}"
    insert(database, [], sql=[statement])
    page = _report(tmp_path, "--month", "2026-03")
    assert "Senders named in more than one report in these months: 6." in page


def test_the_default_month_is_this_month(database: Path, cli_env: Path, tmp_path: Path) -> None:
    page = _report(tmp_path)
    now = datetime.now(UTC)
    assert now.strftime("%b %Y") in page or (now + timedelta(days=1)).strftime("%b %Y") in page


def test_chart_bars_under_5_have_no_height() -> None:
    figure = draw("By channel", [("Email", 3), ("Social media", 12), ("Letter", 0)])
    axes = figure.axes[0]
    assert [bar.get_width() for bar in axes.patches] == [0, 12, 0]
    assert [text.get_text() for text in axes.texts] == [FEWER, "12", "0"]
    figure = draw("By month", [("Jan 2026", 4), ("Feb 2026", 5)], horizontal=False)
    assert [bar.get_height() for bar in figure.axes[0].patches] == [0, 5]
    assert "fewer" in figure.axes[0].texts[0].get_text()


def test_months_and_spreads() -> None:
    assert month_window((2026, 2))[:2] == [(2025, 3), (2025, 4)]
    assert month_window((2026, 2))[-2:] == [(2026, 1), (2026, 2)]
    assert parse_month("2026-12") == (2026, 12)
    for bad in ("2026-13", "26-01", "2026-1", "next"):
        with pytest.raises(ValueError):
            parse_month(bad)
    assert spread([1.0, 2.0, 3.0, 4.0]).median is None
    assert spread([1.0, 2.0, 3.0, 4.0, 5.0]).median == 3.0
