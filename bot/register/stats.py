"""The numbers of the monthly report: counts, times to acknowledge and close, senders.

Abuse reports created in the twelve months up to and including the chosen month (in the
organisation's time zone) are read once, page by page, through :func:`bot.register.query.
records`, and counted as they pass; only the durations are kept, two numbers per report.

Privacy: :func:`shown` turns every count from 1 to 4 into "fewer than 5", and a median or
90th percentile is only given when at least 5 reports contribute, so no one can be singled
out. Zero is shown as 0: it singles out nobody.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.register.db import Context
from bot.register.query import Filters, records
from bot.register.rows import Labeller
from bot.register.senders import recurring_senders

THRESHOLD = 5
FEWER = "fewer than 5"
TOP_WORK_ITEMS = 15
NOT_ANSWERED = "Not answered"


def shown(count: int) -> str:
    """A count as it may be published: 1 to 4 become "fewer than 5"."""
    return FEWER if 0 < count < THRESHOLD else str(count)


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-03"`` → ``(2026, 3)``.

    Raises:
        ValueError: for anything else.
    """
    year, _, month = text.partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"{text!r} is not a month: use YYYY-MM")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"{text!r} has no month {month}")
    return int(year), int(month)


def month_window(last: tuple[int, int]) -> list[tuple[int, int]]:
    """The twelve months ending with ``last``, oldest first."""
    index = last[0] * 12 + last[1] - 1
    return [(i // 12, i % 12 + 1) for i in range(index - 11, index + 1)]


def month_label(month: tuple[int, int]) -> str:
    """``(2026, 3)`` → ``"Mar 2026"``."""
    return datetime(month[0], month[1], 1).strftime("%b %Y")


@dataclass(frozen=True)
class Spread:
    """How long something took: over how many reports, the median and the 90th percentile."""

    count: int
    median: float | None
    p90: float | None


def spread(values: list[float]) -> Spread:
    """Median and 90th percentile of ``values``; ``None`` for both under :data:`THRESHOLD`."""
    if len(values) < THRESHOLD:
        return Spread(len(values), None, None)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    return Spread(len(values), statistics.median(values), p90)


@dataclass
class Monthly:
    """Everything the monthly report shows."""

    months: list[tuple[str, int]]
    channels: list[tuple[str, int]]
    kinds: list[tuple[str, int]]
    work_items: list[tuple[str, int]]
    acknowledge_hours: Spread
    close_days: Spread
    recurring_senders: int | None
    window: tuple[str, str]


def _ordered(counts: Counter[str], labels: list[str]) -> list[tuple[str, int]]:
    """Every label of the pack in its order (zeros included), then any others."""
    rest = sorted(key for key in counts if key not in labels and key != NOT_ANSWERED)
    ordered = [*labels, *rest, *([NOT_ANSWERED] if counts[NOT_ANSWERED] else [])]
    return [(key, counts[key]) for key in ordered]


def _top(counts: Counter[str], names: dict[str, str]) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], names[item[0]]))
    top = [(names[key], n) for key, n in ranked[:TOP_WORK_ITEMS]]
    other = sum(n for _, n in ranked[TOP_WORK_ITEMS:])
    return top + ([("Other pieces of work", other)] if other else [])


async def gather(context: Context, last: tuple[int, int]) -> Monthly:
    """Read the twelve months up to ``last`` and count them."""
    zone: ZoneInfo = context.zone
    months = month_window(last)
    since = datetime(*months[0], 1, tzinfo=zone)
    until = datetime(last[0] + last[1] // 12, last[1] % 12 + 1, 1, tzinfo=zone)
    labeller, steps = Labeller(context.pack), context.pack.abuse_report.steps
    by_month: Counter[tuple[int, int]] = Counter()
    channels, kinds, work = Counter[str](), Counter[str](), Counter[str]()
    work_names: dict[str, str] = {}
    acknowledge, close = [], []
    filters = Filters(since=since, until=until, kind="abuse_report")
    async for record in records(context.db, filters):
        local = record.created_at.astimezone(zone)
        by_month[(local.year, local.month)] += 1
        channels[labeller.label("channel", record.answers["channel"]) or NOT_ANSWERED] += 1
        kinds[labeller.label("kind", record.answers["kind"]) or NOT_ANSWERED] += 1
        item = labeller.label("work_item", record.answers["work_item"]) or NOT_ANSWERED
        work_names.setdefault(item.casefold(), item)
        work[item.casefold()] += 1
        if record.acknowledged_at:
            acknowledge.append((record.acknowledged_at - record.created_at).total_seconds() / 3600)
        if record.closed_at:
            close.append((record.closed_at - record.created_at).total_seconds() / 86400)
    return Monthly(
        months=[(month_label(m), by_month[m]) for m in months],
        channels=_ordered(channels, [o.label for o in steps["channel"].options]),
        kinds=_ordered(kinds, [o.label for o in steps["kind"].options]),
        work_items=_top(work, work_names),
        acknowledge_hours=spread(acknowledge),
        close_days=spread(close),
        recurring_senders=await recurring_senders(context.db, since, until),
        window=(month_label(months[0]), month_label(months[-1])),
    )
