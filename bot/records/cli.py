"""The records commands on the command line: ``audit verify``, ``hold`` and ``purge``.

``bot/__main__.py`` adds these parsers with :func:`add_commands` and hands the parsed
arguments to :func:`run`. ``purge`` prints what it found as a table: reference, kind, when
it was closed or decided, its age and its files, then what is kept although past retention
and why; with ``--apply`` each purge is also a log line (``bot.records.purge``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the parsers are built on every run: keep the database code out of that
    from bot.policy.organisation import Retention
    from bot.records.purge import PurgeRun
    from bot.records.retention import Candidate

COMMANDS = frozenset({"audit", "hold", "purge"})
KIND_LABELS = {"abuse_report": "abuse report", "business_case": "business case"}


def add_commands(commands: Any) -> None:
    """Add ``audit``, ``hold`` and ``purge`` to the CLI's sub-command parsers."""
    audit = commands.add_parser("audit", help="check every case's hash-chained timeline")
    audit.add_argument("action", choices=["verify"], help="name the first event altered or removed")
    audit.add_argument("--case", dest="reference", metavar="REF", help="check this case only")
    hold = commands.add_parser("hold", help="put one case on legal hold, or lift the hold")
    hold.add_argument("reference", metavar="REF", help="the case's reference, e.g. AB-2026-0042")
    switch = hold.add_mutually_exclusive_group(required=True)
    switch.add_argument("--on", dest="on", action="store_true", help="hold it: never purged")
    switch.add_argument("--off", dest="on", action="store_false", help="lift the hold")
    hold.add_argument("--reason", required=True, help="why (goes on the case's timeline)")
    hold.add_argument("--by", help="who is doing this (default: your user name)")
    purge = commands.add_parser("purge", help="delete what is past the pack's retention")
    mode = purge.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", dest="apply", action="store_false", help="list, change nothing")
    mode.add_argument("--apply", dest="apply", action="store_true", help="delete and log it")
    purge.add_argument("--by", help="who is doing this (default: your user name)")


def run(args: argparse.Namespace) -> int:
    """Run the records command ``args.command``; return its exit code."""
    # The findings are the output; of the logs, only the purge's own lines are wanted.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("bot.records").setLevel(logging.INFO)
    if args.command == "audit":
        from bot.records.audit import audit_command

        return asyncio.run(audit_command(args.reference))
    if args.command == "hold":
        from bot.records.hold import hold_command

        return asyncio.run(
            hold_command(reference=args.reference, on=args.on, reason=args.reason, by=args.by)
        )
    return asyncio.run(purge_command(apply=args.apply, by=args.by))


async def purge_command(*, apply: bool, by: str | None) -> int:
    """Run ``purge --dry-run`` or ``purge --apply`` now; print what it found and did."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.records import purge
    from bot.records.hold import Operator
    from bot.register.db import NoDatabase, open_context
    from bot.storage.files import FileStore
    from bot.storage.types import utcnow

    now = utcnow()
    try:
        async with open_context() as context:
            retention, zone = context.pack.retention, context.zone
            if apply:
                store = FileStore(context.settings.bot_file_store)
                operator = Operator.at_command_line(by)
                result = await purge.apply(context.db, store, retention, now, operator)
            else:
                result = await purge.plan(context.db, retention, now)
    except NoDatabase as error:
        print(error, file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(f"Cannot use the database: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 1
    print(rules_line(retention))
    for line in report(result, now, zone, applied=apply):
        print(line)
    return 0


def rules_line(retention: Retention) -> str:
    """The pack's rules, so the output says what it was judged against."""
    hold = (
        " Legal hold is ON for the whole pack: nothing is purged." if retention.legal_hold else ""
    )
    return (
        f"Retention: closed abuse reports {retention.abuse_report_closed_days} days, decided "
        f"business cases {retention.business_case_decided_days} days, drafts "
        f"{retention.flow_draft_days} days.{hold}"
    )


def report(run: PurgeRun, now: datetime, zone: ZoneInfo, *, applied: bool) -> Iterator[str]:
    """The lines ``purge`` prints after the rules line."""
    left = {candidate for candidate, _ in run.deferred}
    gone = [c for c in run.due if c not in left]
    if gone:
        yield "Purged:" if applied else "Would purge:"
        yield from (_row(c, now, zone) for c in gone)
    if run.kept:
        yield "Kept although past retention:"
        yield from (f"{_row(c, now, zone)}  kept: {c.kept}" for c in run.kept)
    if run.deferred:
        yield "Left this time:"
        yield from (f"{_row(c, now, zone)}  {why}" for c, why in run.deferred)
    cases = sum(1 for c in gone if c.kind in KIND_LABELS)
    drafts, files = len(gone) - cases, sum(c.files for c in gone)
    counted = f"{_count(cases, 'case')} and {_count(drafts, 'draft')} ({_count(files, 'file')})"
    if not applied:
        yield f"Dry run: {counted} would be purged; nothing was changed."
        if run.unfinished:
            yield f"{_count(run.unfinished, 'earlier purge')} still to remove files from the store."
        return
    yield (
        f"Purged {counted}; {_count(run.files_removed, 'file')} removed from the file store; "
        "each purge is in the purge log."
    )


def _row(candidate: Candidate, now: datetime, zone: ZoneInfo) -> str:
    kind = KIND_LABELS.get(candidate.kind)
    if kind is None:
        kind = f"{KIND_LABELS.get(candidate.flow or '', 'flow')} draft"
    day = candidate.ended_at.astimezone(zone).date().isoformat()
    return (
        f"  {candidate.label:<18} {kind:<20} {candidate.ended} {day}  "
        f"{candidate.age_days(now):>5} days ago  {_count(candidate.files, 'file')}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
