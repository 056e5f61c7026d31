"""Taking in evidence files: fetch, check against the pack's limits, store, record.

The platform adapter knows how to fetch a file (Slack with the bot token; Teams by the
attachment's download URL) and passes that as ``fetch``; this module checks each file's
size and type against ``pack.abuse_report.evidence_limits``, writes it to the file store
(with its SHA-256 and the time received) and records it against the draft. A refused file
is named in a clear message for the field; files already accepted are kept, and the rest
of the report is not lost.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import FileUpload, Platform
from bot.policy.abuse import EvidenceLimits
from bot.storage.files import FileStore
from bot.storage.repos import files as stored_files

Fetch = Callable[[FileUpload], Awaitable[bytes]]
log = logging.getLogger(__name__)


class FileTooLarge(Exception):
    """Raised by a fetcher that stopped reading at the size limit."""


@dataclass(frozen=True)
class Intake:
    """The outcome: ids of files stored, and a message naming any refused."""

    file_ids: tuple[str, ...]
    error: str | None = None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def _type_of(upload: FileUpload) -> str:
    declared = (upload.mime_type or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(upload.name)
    return guessed or declared or "application/octet-stream"


def refusal(upload: FileUpload, limits: EvidenceLimits, size: int | None = None) -> str | None:
    """Why this file cannot be accepted, or None when it can."""
    mime = _type_of(upload)
    if mime not in limits.allowed_types:
        return (
            f"“{upload.name}” is a type of file we cannot accept ({mime}). Please send "
            "a screenshot, PDF, text or Word file instead."
        )
    size = size if size is not None else upload.size
    if size is not None and size > limits.max_file_bytes:
        return (
            f"“{upload.name}” is {_megabytes(size)}, over the limit of "
            f"{_megabytes(limits.max_file_bytes)}. Please send a smaller copy."
        )
    return None


async def take_in(
    *,
    db: async_sessionmaker[AsyncSession],
    store: FileStore,
    limits: EvidenceLimits,
    uploads: Sequence[FileUpload],
    fetch: Fetch,
    platform: Platform,
    draft_id: str,
) -> Intake:
    """Fetch, check and store each upload; stop at the first refused file and name it.

    A file already attached to this draft (same SHA-256) is not recorded again: resending
    a page, or attaching the same screenshot twice, gives the same stored file.
    """
    if len(uploads) > limits.max_files:
        return Intake((), f"Please send at most {limits.max_files} files.")
    async with db() as s:
        known = {
            f.sha256: f.id
            for f in await stored_files.list_for_session(session=s, session_id=draft_id)
        }
    accepted: list[str] = []
    for upload in uploads:
        problem = refusal(upload, limits)
        if problem is None:
            try:
                data = await fetch(upload)
            except FileTooLarge:
                data, problem = b"", refusal(upload, limits, limits.max_file_bytes + 1)
            except Exception as error:  # network, refused host, a login page instead of a file
                log.warning("could not fetch evidence file: %s", type(error).__name__)
                data, problem = (
                    b"",
                    (
                        f"We could not fetch “{upload.name}”. Please attach it "
                        "again; everything else you entered is kept."
                    ),
                )
            else:
                problem = refusal(upload, limits, len(data))
        if problem is not None:
            return Intake(tuple(accepted), problem)
        saved = await store.save(data=data, name=upload.name, mime_type=_type_of(upload))
        if saved.sha256 not in known:
            async with db.begin() as s:
                row = await stored_files.record(
                    session=s,
                    saved=saved,
                    name=upload.name,
                    mime_type=_type_of(upload),
                    platform=platform.value,
                    session_id=draft_id,
                )
            known[saved.sha256] = row.id
        if known[saved.sha256] not in accepted:
            accepted.append(known[saved.sha256])
    return Intake(tuple(accepted))
