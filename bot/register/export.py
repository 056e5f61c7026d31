"""``python -m bot export register [--from D] [--to D] [--state S …] [--kind K] --format F``.

Streams the register, one row per case, to ``--out FILE`` or standard output. A file is
written under a temporary name and renamed into place at the end, so an export that fails
half-way never leaves a file that looks complete. Dates are days in the organisation's
time zone, both ends included.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot.register.db import Context, NoDatabase, fail, open_context
from bot.register.progress import Progress
from bot.register.query import Filters, count, pages
from bot.register.rows import COLUMNS, Labeller, register_values
from bot.register.writers import writer_for


def day_filters(
    zone: ZoneInfo,
    date_from: date | None = None,
    date_to: date | None = None,
    states: tuple[str, ...] = (),
    kind: str | None = None,
) -> Filters:
    """Filters for cases created from ``date_from`` to ``date_to`` inclusive, in ``zone``."""
    since = datetime.combine(date_from, time(), zone) if date_from else None
    until = datetime.combine(date_to + timedelta(days=1), time(), zone) if date_to else None
    return Filters(since=since, until=until, states=states, kind=kind)


@contextmanager
def _long_lived_set_aside() -> Iterator[None]:
    """Keep every object made so far out of the cycle collector's passes until the end.

    An export makes millions of small objects (a page's live until it is written), and
    about every fifteen thousand rows the collector makes a full pass over every object in
    the process: the modules, the pack, SQLAlchemy's caches. Set aside with
    :func:`gc.freeze`, those are skipped; the passes took a sixth of an export's time.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def write_register(context: Context, filters: Filters, fmt: str, out: TextIO) -> int:
    """Write every matching case to ``out``; return how many.

    Args:
        context: the database and the pack.
        filters: which cases.
        fmt: ``"csv"`` or ``"json"``.
        out: a text stream (for CSV, opened with ``newline=""``).
    """
    progress = Progress(await count(context.db, filters), "Exporting")
    labeller, zone = Labeller(context.pack), context.zone
    writer = writer_for(fmt, out, list(COLUMNS))
    with _long_lived_set_aside():
        async for page in pages(context.db, filters):
            writer.write_rows([register_values(record, labeller, zone) for record in page])
            progress.advance(len(page))
    writer.close()
    progress.finish()
    return progress.done


async def export_register(
    *,
    fmt: str,
    out: Path | None,
    date_from: date | None = None,
    date_to: date | None = None,
    states: tuple[str, ...] = (),
    kind: str | None = None,
) -> int:
    """Run the command; return its exit code (0 written, 1 database trouble, 2 bad dates)."""
    if date_from and date_to and date_from > date_to:
        print("--from is after --to: nothing could match.", file=sys.stderr)
        return 2
    try:
        async with open_context() as context:
            filters = day_filters(context.zone, date_from, date_to, states, kind)
            if out is None:
                await write_register(context, filters, fmt, sys.stdout)
                sys.stdout.flush()
                return 0
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(f".{out.name}.partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as stream:
                    written = await write_register(context, filters, fmt, stream)
                os.replace(partial, out)
            finally:
                partial.unlink(missing_ok=True)
    except NoDatabase as error:
        return fail(str(error))
    except SQLAlchemyError as error:
        return fail(f"Cannot read the database: {error.__class__.__name__}: {error}")
    print(f"Wrote {written} cases to {out}")
    return 0
