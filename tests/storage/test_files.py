"""The file store (atomic, content-addressed, confined to its root) and file records."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.files import FileStore, UnsafePath
from bot.storage.repos import cases, files
from bot.storage.repos import sessions as drafts

Sessions = async_sessionmaker[AsyncSession]
MakeCase = Callable[..., Awaitable[cases.CaseRow]]
EVIDENCE = b"%PDF-1.7 screenshot of the abusive message"


def _files_under(root: Path) -> list[Path]:
    """Every file below ``root`` (temporary files included)."""
    return [path for path in root.rglob("*") if path.is_file()]


async def test_save_is_content_addressed_with_sha256(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    saved = await store.save(data=EVIDENCE, name="../../etc/passwd", mime_type="application/pdf")
    digest = hashlib.sha256(EVIDENCE).hexdigest()
    assert (saved.sha256, saved.size) == (digest, len(EVIDENCE))
    assert saved.path == f"{digest[:2]}/{digest[2:4]}/{digest}"
    on_disk = tmp_path / "files" / saved.path
    assert on_disk.read_bytes() == EVIDENCE
    assert await store.read(saved.path) == EVIDENCE
    with store.open(saved.path) as handle:
        assert handle.read() == EVIDENCE
    # The same content again is the same file; no temporary files are left behind.
    assert await store.save(data=EVIDENCE, name="copy.pdf", mime_type="application/pdf") == saved
    assert _files_under(tmp_path / "files") == [on_disk]
    assert not (tmp_path / "etc").exists()


async def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path)

    def broken_fsync(_fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        await store.save(data=EVIDENCE, name="a.pdf", mime_type="application/pdf")
    assert _files_under(tmp_path) == []


@pytest.mark.parametrize(
    "path", ["../outside", "/etc/passwd", "ab/../../outside", "", "ab\\..\\..\\x", "ab/cd/../../.."]
)
async def test_paths_outside_the_root_are_refused(tmp_path: Path, path: str) -> None:
    store = FileStore(tmp_path / "files")
    (tmp_path / "outside").write_text("secret")
    with pytest.raises(UnsafePath):
        await store.read(path)
    with pytest.raises(UnsafePath):
        await store.delete(path)
    assert (tmp_path / "outside").exists()


async def test_symlink_escaping_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir()
    (tmp_path / "secret").write_text("secret")
    (root / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UnsafePath):
        await FileStore(root).read("link")


async def test_delete(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    saved = await store.save(data=b"x", name="x.txt", mime_type="text/plain")
    assert await store.exists(saved.path)
    assert await store.delete(saved.path)
    assert not await store.delete(saved.path)
    assert not await store.exists(saved.path)


async def test_records_move_from_draft_to_case(
    tmp_path: Path, make_case: MakeCase, sessions: Sessions
) -> None:
    saved = await FileStore(tmp_path).save(data=EVIDENCE, name="a.pdf", mime_type="application/pdf")
    case = await make_case()
    async with sessions() as session, session.begin():
        draft = await drafts.create(
            session=session, platform="teams", user_id="29:x", flow="abuse_report", step="files"
        )
        record = await files.record(
            session=session,
            saved=saved,
            name="screenshot.pdf",
            mime_type="application/pdf",
            platform="teams",
            session_id=draft.id,
        )
        assert await files.list_for_case(session=session, case_id=case.id) == []
        assert (
            await files.attach_to_case(session=session, session_id=draft.id, case_id=case.id) == 1
        )
    async with sessions() as session:
        (attached,) = await files.list_for_case(session=session, case_id=case.id)
        assert await files.list_for_session(session=session, session_id=draft.id) == [attached]
        assert await files.get(session=session, file_id=record.id) == attached
    assert (attached.name, attached.sha256, attached.size) == (
        "screenshot.pdf",
        saved.sha256,
        saved.size,
    )
    assert attached.case_id == case.id and attached.received_at.tzinfo is not None
