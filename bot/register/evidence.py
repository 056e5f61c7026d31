"""``python -m bot evidence-pack REF --out FILE.zip``: one case's evidence for the police.

Seed 000 para 7 asks the organisation to support a member of staff reporting to the police
"providing emails and any other evidence". The archive holds:

* ``report.html`` and ``report.json``: the case as :mod:`bot.export` exports it;
* ``timeline.json``: every event with its ``prev_hash`` and ``hash``, and the recipe to
  recompute them;
* ``files/<name>``: every evidence file, names made safe and unique;
* ``manifest.json``: every other member with its SHA-256, size and time (when the file was
  received, or when the pack was generated), the reference, and whether the timeline's
  hash chain verified.

Evidence files are copied in chunks, hashed on the way, so a large file is never held
whole in memory. The zip is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.export.cli import render
from bot.export.document import load_document
from bot.register.db import NoDatabase, fail, open_context
from bot.register.pack import MANIFEST, member_info, timeline_json
from bot.storage.files import FileStore
from bot.storage.repos import cases, events, files
from bot.storage.repos.files import FileRow

FORMAT = "staff-safety-bot evidence pack"
CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-() ]+")


def safe_name(name: str, taken: set[str]) -> str:
    """A plain file name for ``name``, unique (ignoring case) among ``taken``; adds it."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")[:120] or "file"
    stem, dot, ext = cleaned.rpartition(".")
    if not stem:
        stem, dot, ext = cleaned, "", ""
    candidate, number = cleaned, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{stem} ({number}){dot}{ext}"
    taken.add(candidate.lower())
    return candidate


def write_pack(
    out: Path,
    store: FileStore,
    generated: dict[str, bytes],
    evidence: list[FileRow],
    header: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """Write the zip (blocking); return the manifest's members.

    Raises:
        FileNotFoundError: when an evidence file is missing from the store.
    """
    members: list[dict[str, Any]] = []
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in generated.items():
                archive.writestr(member_info(name, now), data)
                digest = hashlib.sha256(data).hexdigest()
                members.append(_member(name, digest, len(data), now, "generated"))
            taken: set[str] = set()
            for row in evidence:
                name = f"files/{safe_name(row.name, taken)}"
                digest, size = _copy(archive, store, row, name)
                member = _member(name, digest, size, row.received_at, "received")
                member.update(original_name=row.name, mime_type=row.mime_type)
                member["matches_store_record"] = digest == row.sha256 and size == row.size
                members.append(member)
            manifest = {**header, "members": members}
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
            archive.writestr(member_info(MANIFEST, now), text.encode())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return members


def _member(name: str, digest: str, size: int, at: datetime, kind: str) -> dict[str, Any]:
    return {"name": name, "sha256": digest, "size": size, "time": at.isoformat(), "time_is": kind}


def _copy(archive: zipfile.ZipFile, store: FileStore, row: FileRow, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with (
        store.open(row.path) as source,
        archive.open(member_info(name, row.received_at), "w") as to,
    ):
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            to.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def evidence_pack(*, reference: str, out: Path, now: datetime | None = None) -> int:
    """Run the command; return its exit code (0 written, 1 no such case or trouble)."""
    now = now or datetime.now(UTC)
    try:
        async with open_context() as context:
            async with context.db() as session:
                case = await cases.get_by_reference(session=session, reference=reference)
                if case is None:
                    return fail(f"No case with reference {reference!r}.")
                doc = await load_document(session, context.pack, reference, now)
                timeline = await events.timeline(session=session, case_id=case.id)
                evidence = await files.list_for_case(session=session, case_id=case.id)
            store = FileStore(
                context.settings.bot_file_store, cipher=context.settings.data_cipher()
            )
    except NoDatabase as error:
        return fail(str(error))
    except SQLAlchemyError as error:
        return fail(f"Cannot read the database: {error.__class__.__name__}: {error}")
    assert doc is not None  # the case exists: it was just read
    chain = timeline_json(case.reference, timeline)
    generated = {
        "report.html": render(doc, "html"),
        "report.json": render(doc, "json"),
        "timeline.json": (json.dumps(chain, indent=2, ensure_ascii=False) + "\n").encode(),
    }
    header = {
        "format": FORMAT,
        "format_version": 1,
        "reference": case.reference,
        "kind": case.kind,
        "organisation": context.pack.organisation.name,
        "generated_at": now.isoformat(),
        "timeline_verified": chain["verified"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        await asyncio.to_thread(write_pack, out, store, generated, evidence, header, now)
    except FileNotFoundError as error:
        return fail(f"An evidence file is missing from the file store: {error}")
    verified = "verified" if chain["verified"] else "BROKEN"
    print(f"Wrote {out}: {len(evidence)} evidence files, timeline hash chain {verified}")
    return 0
