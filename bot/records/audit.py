"""``python -m bot audit verify [--case REF]``: is every case's timeline as the bot wrote it?

Walks every case's hash chain against the head its row records (:mod:`bot.records.chain`)
and names, per broken case, the first event that was altered or removed. Whole cases are
checked too: every reference the counters have handed out must still be a case or be in
the purge log, so a case deleted with all its events is named as well, and a case purged
under the retention rules is not mistaken for tampering.

Cases are read a few hundred at a time, each batch in its own short transaction that holds
the batch's case rows (``FOR SHARE`` on PostgreSQL; SQLite transactions are exclusive), so
an event appended while the command runs cannot look like tampering and the bot is never
held up for long. With ``BOT_DATA_KEY`` set, the command needs the same keys as the bot:
the hashes are over the words as written, not as sealed.

Exit codes: 0 intact, 1 something altered or removed, 2 no such case (``--case``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.records.chain import WHOLE_CASE, Break, first_break
from bot.register.db import NoDatabase, open_context
from bot.storage.repos import cases, events, purge_log
from bot.storage.repos.cases import format_reference
from bot.storage.repos.events import EventRow

BATCH = 500
_REFERENCE = re.compile(r"^(?P<prefix>.+)-(?P<year>\d{4})-(?P<number>\d{4,})$")


@dataclass
class Audit:
    """What a walk of the chains found."""

    cases: int = 0
    events: int = 0
    purged: int = 0
    breaks: list[Break] = field(default_factory=list)

    def summary(self) -> str:
        """The last line ``audit verify`` prints."""
        if not self.breaks:
            purged = f" ({self.purged} purged under the retention rules)" if self.purged else ""
            return f"{self.cases} cases, {self.events} events, chain intact{purged}"
        first = self.breaks[0]
        return (
            f"FAILED: {len(self.breaks)} case(s) altered or removed "
            f"({self.cases} cases, {self.events} events checked); "
            f"first: {first.reference} {first.where} {first.what}"
        )


async def verify(db: async_sessionmaker[AsyncSession], *, batch: int = BATCH) -> Audit:
    """Check every case's chain and every reference handed out."""
    audit = Audit()
    async with db() as s:
        case_ids = [head.case_id for head in await events.heads(session=s)]
    for start in range(0, len(case_ids), batch):
        async with db.begin() as s:
            await _check_batch(s, case_ids[start : start + batch], audit)
    async with db.begin() as s:
        missing, audit.purged = await _missing_cases(s)
    audit.breaks.extend(missing)
    audit.breaks.sort(key=lambda found: found.reference)
    return audit


async def _check_batch(s: AsyncSession, case_ids: Sequence[str], audit: Audit) -> None:
    held = await events.heads(session=s, case_ids=case_ids, hold=True)
    heads = {head.case_id: head for head in held}
    timelines: dict[str, list[EventRow]] = {case_id: [] for case_id in heads}
    async for row in events.stream_all(session=s, case_ids=list(heads)):
        timelines[row.case_id].append(row)
    for case_id, head in heads.items():
        audit.cases += 1
        audit.events += len(timelines[case_id])
        found = first_break(head, timelines[case_id])
        if found is not None:
            audit.breaks.append(found)


async def _missing_cases(s: AsyncSession) -> tuple[list[Break], int]:
    """References handed out that are neither a case nor purged; and how many were purged."""
    issued = await cases.issued_references(session=s)
    present = {head.reference for head in await events.heads(session=s)}
    purged = await purge_log.case_references(session=s)
    found = []
    for prefix, year, last in issued:
        for number in range(1, last + 1):
            reference = format_reference(prefix, year, number)
            if reference not in present and reference not in purged:
                found.append(_removed_case(reference))
    return found, len(purged)


def _removed_case(reference: str) -> Break:
    why = "its reference was handed out, but the case is gone and no purge is logged"
    return Break(reference, WHOLE_CASE, None, "removed", why)


async def verify_one(db: async_sessionmaker[AsyncSession], reference: str) -> tuple[int, str]:
    """Check one case; return the exit code and the line to print."""
    async with db.begin() as s:
        heads = await events.heads(session=s, reference=reference, hold=True)
        if heads:
            head = heads[0]
            timeline = [r async for r in events.stream_all(session=s, case_ids=[head.case_id])]
            found = first_break(head, timeline)
            if found is not None:
                return 1, found.line()
            return 0, f"{reference}: {len(timeline)} events, chain intact"
        return await _absent(s, reference)


async def _absent(s: AsyncSession, reference: str) -> tuple[int, str]:
    purges = await purge_log.for_references(session=s, references=[reference])
    if purges:
        when, by = purges[0].purged_at.date().isoformat(), purges[0].purged_by
        return 0, f"{reference} was purged under the retention rules on {when} by {by}"
    match = _REFERENCE.match(reference)
    if match:
        for prefix, year, last in await cases.issued_references(session=s):
            same = (prefix, year) == (match["prefix"], int(match["year"]))
            if same and int(match["number"]) <= last:
                return 1, _removed_case(reference).line()
    return 2, f"No case with reference {reference!r}."


async def audit_command(reference: str | None = None) -> int:
    """Run ``audit verify``; print the findings and the summary; return the exit code."""
    try:
        async with open_context() as context:
            if reference is not None:
                code, line = await verify_one(context.db, reference.strip())
                print(line)
                return code
            audit = await verify(context.db)
    except NoDatabase as error:
        print(error, file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"Cannot read the database: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 2
    for found in audit.breaks:
        print(found.line())
    print(audit.summary())
    return 1 if audit.breaks else 0
