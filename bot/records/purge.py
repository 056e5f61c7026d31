"""Purging what the retention rules let go: one transaction per case, files after commit.

For each case or draft past retention (:mod:`bot.records.retention`), one transaction locks
the case, checks again that it is still due (it may have been reopened, or put on hold, a
moment ago) and that no delivery or reminder worker holds a lease on anything of it, then
deletes all its rows and writes its ``purge_log`` row; either all of that happens or none.
The evidence files go only after the commit, and only those no other record still points
at (the store keeps one copy per content). Until they are gone their paths stay on the log
row, so a purge interrupted between the commit and the files is finished by the next
``--apply`` before it does anything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.policy.organisation import Retention
from bot.records.hold import Operator
from bot.records.retention import Candidate, past_retention, recheck
from bot.storage.files import FileStore, UnsafePath
from bot.storage.repos import purge_log
from bot.storage.repos import retention as rows
from bot.storage.repos.purge_log import DRAFT, PurgeRow
from bot.storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class PurgeRun:
    """What a run found and did.

    Attributes:
        due: past retention and not kept (purged by ``--apply``).
        kept: past retention but kept, each with its reason in ``kept``.
        purged: the log rows written by this run.
        deferred: due but left this time, with why (reopened a moment ago, being delivered).
        files_removed: evidence files deleted from the store by this run.
        unfinished: purges from an earlier run whose files were still to remove.
    """

    due: list[Candidate] = field(default_factory=list)
    kept: list[Candidate] = field(default_factory=list)
    purged: list[PurgeRow] = field(default_factory=list)
    deferred: list[tuple[Candidate, str]] = field(default_factory=list)
    files_removed: int = 0
    unfinished: int = 0


async def plan(
    db: async_sessionmaker[AsyncSession], retention: Retention, now: datetime
) -> PurgeRun:
    """What is past retention at ``now``, split into due and kept; changes nothing."""
    async with db() as s:
        found = await past_retention(s, retention, now)
        unfinished = await purge_log.unfinished(session=s)
    return PurgeRun(
        due=[c for c in found if c.kept is None],
        kept=[c for c in found if c.kept is not None],
        unfinished=len(unfinished),
    )


async def apply(
    db: async_sessionmaker[AsyncSession],
    store: FileStore,
    retention: Retention,
    now: datetime,
    by: Operator,
) -> PurgeRun:
    """Finish any interrupted purge, then purge everything due at ``now``."""
    run = await plan(db, retention, now)
    run.files_removed += await finish_unfinished(db, store)
    for candidate in run.due:
        row, why = await purge_one(db, retention, now, candidate, by)
        if row is None:
            run.deferred.append((candidate, why))
            continue
        run.purged.append(row)
        run.files_removed += await remove_files(db, store, row)
    return run


async def purge_one(
    db: async_sessionmaker[AsyncSession],
    retention: Retention,
    now: datetime,
    candidate: Candidate,
    by: Operator,
) -> tuple[PurgeRow | None, str]:
    """Delete one case's (or draft's) rows and log it, in one transaction.

    Returns:
        The log row, or ``None`` and why it was left this time.
    """
    async with db.begin() as s:
        if not await _lock(s, candidate):
            return None, "it is gone already"
        current = await recheck(s, retention, now, candidate)
        if current is None:
            return None, "it is no longer past retention (reopened or changed just now)"
        if current.kept is not None:
            return None, f"kept: {current.kept}"
        if candidate.kind == DRAFT:
            paths = await rows.delete_draft(session=s, draft_id=candidate.subject_id)
        elif await rows.in_flight(session=s, case_id=candidate.subject_id, now=utcnow()):
            return None, "a message or reminder about it is being sent; run the purge again later"
        else:
            paths = await rows.delete_case(session=s, case_id=candidate.subject_id)
        row = await purge_log.record(
            session=s,
            reference=current.reference,
            kind=current.kind,
            closed_at=current.ended_at,
            purged_at=utcnow(),
            purged_by=by.key,
            paths=paths,
            file_count=len(paths),
        )
    log.info(
        "purged %s (%s, %s %s, %d files) by %s",
        candidate.label,
        candidate.kind,
        candidate.ended,
        candidate.ended_at.date().isoformat(),
        row.file_count,
        by.key,
    )
    return row, ""


async def _lock(s: AsyncSession, candidate: Candidate) -> bool:
    """Hold the case's (or draft's) row until the purge commits; False if it is gone."""
    if candidate.kind == DRAFT:
        return await rows.lock_draft(session=s, draft_id=candidate.subject_id)
    return await rows.lock_case(session=s, case_id=candidate.subject_id)


async def remove_files(
    db: async_sessionmaker[AsyncSession], store: FileStore, row: PurgeRow
) -> int:
    """Delete a purge's files that no record points at any more; mark the purge finished.

    A file that cannot be deleted now (a permissions problem, say) leaves the purge
    unfinished, so the next ``--apply`` tries again. Returns how many files were deleted.
    """
    removed, failed = 0, False
    for path in row.pending_files:
        async with db() as s:
            if await rows.path_in_use(session=s, path=path):
                continue  # the same content is evidence in another record
        try:
            removed += await store.delete(path)
        except UnsafePath:
            log.warning("purge %d: refusing file-store path %r; left alone", row.id, path)
        except OSError as error:
            log.error("purge %d: cannot delete %s yet: %s", row.id, path, error)
            failed = True
    if not failed:
        async with db.begin() as s:
            await purge_log.files_removed(session=s, purge_id=row.id, at=utcnow())
    return removed


async def finish_unfinished(db: async_sessionmaker[AsyncSession], store: FileStore) -> int:
    """Remove the files of purges that committed but stopped before their files were gone."""
    async with db() as s:
        unfinished = await purge_log.unfinished(session=s)
    removed = 0
    for row in unfinished:
        removed += await remove_files(db, store, row)
        log.info("finished purge %d of %s: files removed from the store", row.id, row.reference)
    return removed
