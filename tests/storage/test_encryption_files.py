"""Evidence files at rest: sealed on disk, the same bytes back, deduplicated by the hash of
what was received, old plain files still read, rotation, and altered files refused."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from bot.storage.crypto import DataCipher, DataKeyError, generate_key, key_id
from bot.storage.files import FileStore
from bot.storage.rotate import rotate_files

EVIDENCE = b"%PDF-1.7 screenshot: 'I know where you live, 14 Elm Road'"
OLD, NEW = generate_key(), generate_key()


def store(root: Path, keys: str | None) -> FileStore:
    return FileStore(root, cipher=DataCipher.from_text(keys) if keys else None)


async def test_a_sealed_file_is_unreadable_on_disk_and_reads_back_whole(tmp_path: Path) -> None:
    files = store(tmp_path, OLD)
    saved = await files.save(data=EVIDENCE, name="shot.pdf", mime_type="application/pdf")
    digest = hashlib.sha256(EVIDENCE).hexdigest()
    assert (saved.sha256, saved.size) == (digest, len(EVIDENCE))
    assert saved.path == f"{digest[:2]}/{digest[2:4]}/{digest}", "addressed by what was received"
    on_disk = (tmp_path / saved.path).read_bytes()
    assert b"Elm Road" not in on_disk and on_disk.startswith(f"sealed:v1:{key_id(OLD)}:".encode())
    assert await files.read(saved.path) == EVIDENCE
    with files.open(saved.path) as handle:
        assert handle.read() == EVIDENCE
    # The same evidence again is deduplicated: same path, still one file, not rewritten.
    assert await files.save(data=EVIDENCE, name="again.pdf", mime_type="application/pdf") == saved
    assert (tmp_path / saved.path).read_bytes() == on_disk
    assert list(files.paths()) == [saved.path]


async def test_files_from_before_the_key_read_and_are_sealed_when_sent_again(
    tmp_path: Path,
) -> None:
    saved = await store(tmp_path, None).save(data=EVIDENCE, name="a", mime_type="image/png")
    assert (tmp_path / saved.path).read_bytes() == EVIDENCE, "no key: stored as received"
    keyed = store(tmp_path, OLD)
    assert await keyed.read(saved.path) == EVIDENCE
    assert await keyed.save(data=EVIDENCE, name="b", mime_type="image/png") == saved
    assert (tmp_path / saved.path).read_bytes().startswith(b"sealed:v1:")
    assert await keyed.read(saved.path) == EVIDENCE


async def test_a_file_that_looks_sealed_is_kept_as_sent_with_or_without_a_key(
    tmp_path: Path,
) -> None:
    lookalike = DataCipher.from_text(NEW).seal_bytes(b"planted")
    for keys in (None, OLD):
        files = store(tmp_path / str(keys), keys)
        saved = await files.save(data=lookalike, name="a", mime_type="x/y")
        assert await files.read(saved.path) == lookalike
        with files.open(saved.path) as handle:
            assert handle.read() == lookalike


async def test_rotation_reseals_files_with_the_newest_key_once(tmp_path: Path) -> None:
    plain = await store(tmp_path, None).save(data=b"before any key", name="a", mime_type="x/y")
    old = await store(tmp_path, OLD).save(data=EVIDENCE, name="b", mime_type="x/y")
    both = store(tmp_path, f"{NEW},{OLD}")
    first = await rotate_files(both)
    assert (first.read, first.rewritten) == (2, 2)
    alone = store(tmp_path, NEW)
    assert await alone.read(old.path) == EVIDENCE
    assert await alone.read(plain.path) == b"before any key"
    assert (await rotate_files(both)).rewritten == 0, "idempotent"
    with pytest.raises(DataKeyError, match=f"sealed with key {key_id(NEW)}"):
        await store(tmp_path, OLD).read(old.path)


async def test_an_altered_or_keyless_file_is_refused(tmp_path: Path) -> None:
    files = store(tmp_path, OLD)
    saved = await files.save(data=EVIDENCE, name="a", mime_type="x/y")
    with pytest.raises(DataKeyError, match="BOT_DATA_KEY is not set"):
        await store(tmp_path, None).read(saved.path)
    target = tmp_path / saved.path
    sealed = bytearray(target.read_bytes())
    sealed[60] = ord("A") if sealed[60] != ord("A") else ord("B")  # one character of the token
    target.write_bytes(bytes(sealed))
    with pytest.raises(DataKeyError, match="failed its integrity check"):
        await files.read(saved.path)
    with pytest.raises(DataKeyError, match="failed its integrity check"):
        files.open(saved.path)
    with pytest.raises(DataKeyError, match=f"file {saved.path}: "):
        await rotate_files(store(tmp_path, f"{NEW},{OLD}"))


async def test_figures_for_a_large_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # the default pack's 20 MB limit
    files = store(tmp_path, OLD)
    started = time.perf_counter()
    saved = await files.save(data=data, name="big", mime_type="video/mp4")
    sealing = time.perf_counter() - started
    started = time.perf_counter()
    assert await files.read(saved.path) == data
    opening = time.perf_counter() - started
    on_disk = (tmp_path / saved.path).stat().st_size
    with capsys.disabled():
        print(
            f"\n[encryption] 20 MB evidence file: sealed and saved in {sealing * 1000:.0f} ms, "
            f"read and opened in {opening * 1000:.0f} ms, {on_disk / len(data):.2f}x on disk"
        )
    assert sealing < 10 and opening < 10
