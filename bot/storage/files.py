"""The evidence file store: files people attach, kept on local disk by content hash.

Evidence must survive a crash half-way through a write and must never be confused with
another file, so a save writes to a temporary file, fsyncs it, renames it into place and
fsyncs the directory. The path is derived from the SHA-256 of the content
(``ab/cd/abcd…``), never from the name a person gave the file, so a name such as
``../../etc/passwd`` cannot reach outside the store; paths handed back in for reading or
deleting are checked to stay inside the root too. The original name and type live in the
``stored_files`` table. Blocking file I/O runs in a worker thread.

With a data key (``BOT_DATA_KEY``) the bytes on disk are sealed (:mod:`bot.storage.crypto`)
and opened again on reading. The path, size and SHA-256 stay those of the file as received,
so identical evidence is still stored once and the evidence pack's hashes still match. Files
stored before encryption was turned on read as they are; :meth:`FileStore.reseal` brings a
file under the newest key (``python -m bot keys rotate``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from bot.storage.crypto import (
    PREFIX_BYTES,
    RESERVED_BYTES,
    DataCipher,
    DataKeyError,
    is_sealed,
    open_bytes,
    seal_bytes,
    sealed_with,
)


class UnsafePath(ValueError):
    """A stored-file path that is absolute or would leave the file store's root."""


@dataclass(frozen=True)
class SavedFile:
    """Where a file was saved, relative to the store's root, and what it contained."""

    path: str
    size: int
    sha256: str


class FileStore:
    """Content-addressed files under one root directory.

    Args:
        root: the directory holding the files (``BOT_FILE_STORE``); created when needed.
        cipher: the data key (``Settings.data_cipher()``); ``None`` keeps files as received.
    """

    def __init__(self, root: Path, *, cipher: DataCipher | None = None) -> None:
        self.root = Path(root).resolve()
        self.cipher = cipher

    async def save(self, *, data: bytes, name: str, mime_type: str) -> SavedFile:
        """Store ``data`` atomically and return its relative path, size and SHA-256.

        Args:
            data: the file's bytes.
            name: the name the person gave it; recorded by the caller, not used for the path.
            mime_type: the declared type; recorded by the caller, not used for the path.
        """
        del name, mime_type  # deliberately unused: user-supplied names never touch the disk
        return await asyncio.to_thread(self._save, data)

    def _save(self, data: bytes) -> SavedFile:
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest[2:4]}/{digest}"
        target = self.root / relative
        if not target.exists() or (self.cipher is not None and not _starts_sealed(target)):
            # New, or the same evidence kept in the clear before a key was set: seal it now.
            _write_atomically(target, seal_bytes(data, self.cipher))
        return SavedFile(path=relative, size=len(data), sha256=digest)

    def resolve(self, path: str) -> Path:
        """The absolute location of a stored file.

        Raises:
            UnsafePath: if ``path`` is absolute or climbs out of the root.
        """
        relative = PurePosixPath(path)
        if not path or relative.is_absolute() or ".." in relative.parts or "\\" in path:
            raise UnsafePath(f"refusing file-store path {path!r}")
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root):
            raise UnsafePath(f"refusing file-store path {path!r}")
        return candidate

    def open(self, path: str) -> BinaryIO:
        """Open a stored file for reading (the caller closes it); blocking, for streaming.

        A sealed file is opened (checked and decrypted) whole in memory first; others stream.

        Raises:
            DataKeyError: the file is sealed and cannot be opened with the keys given.
        """
        source = self.resolve(path).open("rb")
        if source.read(len(RESERVED_BYTES)) != RESERVED_BYTES:
            source.seek(0)
            return source
        with source:
            stored = RESERVED_BYTES + source.read()
        return io.BytesIO(open_bytes(stored, self.cipher))

    async def read(self, path: str) -> bytes:
        """Return a stored file's bytes, opened if sealed (see :meth:`open`)."""
        target = self.resolve(path)
        # Decrypting a large file takes a while: off the event loop, with the reading.
        return await asyncio.to_thread(lambda: open_bytes(target.read_bytes(), self.cipher))

    def paths(self) -> Iterator[str]:
        """Every stored file's relative path (blocking; temporary files left out)."""
        for found in sorted(self.root.rglob("*")):
            if found.is_file() and not found.name.startswith(".tmp-"):
                yield found.relative_to(self.root).as_posix()

    def reseal(self, path: str) -> bool:
        """Bring one stored file under the newest key (blocking); True if it was rewritten.

        A file already under the newest key is checked (it must open) and left alone, so
        running this twice changes nothing the second time.

        Raises:
            DataKeyError: no key is set, or the file cannot be opened with the keys given.
        """
        if self.cipher is None:
            raise DataKeyError("set BOT_DATA_KEY to the keys to rotate, newest first")
        target = self.resolve(path)
        try:
            stored = target.read_bytes()
        except FileNotFoundError:  # removed since it was listed (a purge): nothing to do
            return False
        plain = open_bytes(stored, self.cipher)
        if is_sealed(stored) and sealed_with(stored) == self.cipher.primary_id:
            return False
        if not target.exists():  # removed meanwhile: do not bring it back
            return False
        _write_atomically(target, self.cipher.seal_bytes(plain))
        return True

    async def exists(self, path: str) -> bool:
        """True if a file is stored at ``path``."""
        return await asyncio.to_thread(self.resolve(path).is_file)

    async def delete(self, path: str) -> bool:
        """Remove a stored file; True if it was there.

        Files are shared by content: delete only once no ``stored_files`` row points here.
        """
        target = self.resolve(path)

        def _delete() -> bool:
            try:
                target.unlink()
            except FileNotFoundError:
                return False
            _fsync_directory(target.parent)
            return True

        return await asyncio.to_thread(_delete)


def _starts_sealed(target: Path) -> bool:
    with target.open("rb") as existing:
        return existing.read(len(PREFIX_BYTES)) == PREFIX_BYTES


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file, fsync, rename over ``target``, fsync the directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
