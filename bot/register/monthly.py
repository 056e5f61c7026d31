"""``python -m bot report monthly [--month YYYY-MM] --out FILE.html``.

One self-contained HTML page for the corporate office: abuse reports by month, channel,
kind and piece of work (tables and charts), times to acknowledge and to close, and
recurring senders. Charts are PNG images inside the page, so it opens offline; every text
goes through :func:`html.escape`. Counts from 1 to 4 read "fewer than 5" in the tables and
on the charts (where such a bar has no height), see :mod:`bot.register.stats`.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.register.charts import bar_chart
from bot.register.db import NoDatabase, fail, open_context
from bot.register.stats import FEWER, THRESHOLD, Monthly, Spread, gather, shown

CSS = """
body { font: 11pt/1.45 Arial, Helvetica, sans-serif; color: #111; max-width: 60em;
       margin: 2em auto; padding: 0 1em; }
h2 { border-bottom: 2px solid #005eb8; padding-bottom: .15em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: left; }
th { background: #f0f4f8; }
td.n { text-align: right; }
img { max-width: 100%; height: auto; }
p.note { color: #444; font-style: italic; }
"""


def e(text: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(text), quote=True)


def _table(heading: str, items: list[tuple[str, int]]) -> str:
    rows = "".join(
        f'<tr><td>{e(label)}</td><td class="n">{e(shown(n))}</td></tr>' for label, n in items
    )
    return f"<table><tr><th>{e(heading)}</th><th>Reports</th></tr>{rows}</table>"


def _section(title: str, heading: str, items: list[tuple[str, int]], months: bool) -> str:
    chart = bar_chart(title, items, horizontal=not months)
    return (
        f"<section><h2>{e(title)}</h2>{_table(heading, items)}"
        f'<img src="data:image/png;base64,{chart}" alt="{e(title)}: bar chart"></section>'
    )


def _time(spread: Spread, unit: str) -> tuple[str, str, str]:
    if spread.median is None or spread.p90 is None:
        note = "not shown: fewer than 5 reports" if spread.count else "no reports yet"
        return shown(spread.count), note, note
    return shown(spread.count), f"{spread.median:.1f} {unit}", f"{spread.p90:.1f} {unit}"


def render_monthly(stats: Monthly, organisation: str, generated_at: datetime) -> str:
    """The report as a complete HTML page."""
    first, last = stats.window
    title = f"Abuse reports: {first} to {last}"
    times = [
        ("Time to acknowledge", *_time(stats.acknowledge_hours, "hours")),
        ("Time to close", *_time(stats.close_days, "days")),
    ]
    time_rows = "".join(
        "<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in times
    )
    if stats.recurring_senders is None:
        senders = "Recurring senders: not yet available."
    else:
        senders = (
            "Senders named in more than one report in these months: "
            f"{shown(stats.recurring_senders)}."
        )
    return "\n".join(
        [
            '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">',
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{e(title)}</h1>",
            f"<p>{e(organisation)}. Generated {e(generated_at.isoformat(timespec='minutes'))}.</p>",
            f'<p class="note">{e(PRIVACY)}</p>',
            _section("Reports by month", "Month", stats.months, months=True),
            _section("Reports by channel", "Channel", stats.channels, months=False),
            _section("Reports by kind of contact", "Kind", stats.kinds, months=False),
            _section("Reports by piece of work", "Piece of work", stats.work_items, months=False),
            "<section><h2>Time to acknowledge and to close</h2><table><tr><th>Measure</th>"
            "<th>Reports</th><th>Median</th><th>90th percentile</th></tr>"
            f"{time_rows}</table>",
            f'<p class="note">{e(TIMES)}</p></section>',
            f"<section><h2>Recurring senders</h2><p>{e(senders)}</p></section>",
            "</body></html>",
        ]
    )


PRIVACY = (
    f"So that nobody can be singled out, every count from 1 to {THRESHOLD - 1} is shown as "
    f"“{FEWER}”, in the tables and on the charts, where such a bar is drawn with no height "
    "and labelled the same way. Zero is shown as 0. No totals are given."
)
TIMES = (
    "Measured from the report to its first acknowledgement, and to its closing (reports "
    "still closed now), for reports made in these months. Times are only given when at "
    f"least {THRESHOLD} reports contribute."
)


async def monthly_report(*, month: tuple[int, int] | None, out: Path) -> int:
    """Run the command; return its exit code."""
    try:
        async with open_context() as context:
            now = datetime.now(UTC).astimezone(context.zone)
            stats = await gather(context, month or (now.year, now.month))
            page = render_monthly(stats, context.pack.organisation.name, now)
    except NoDatabase as error:
        return fail(str(error))
    except SQLAlchemyError as error:
        return fail(f"Cannot read the database: {error.__class__.__name__}: {error}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, out)
    print(f"Wrote {out}")
    return 0
