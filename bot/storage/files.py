"""The evidence file store: files people attach, kept on local disk by content hash.

Evidence must survive a crash half-way through a write and must never be confused with
another file, so a save writes to a temporary file, fsyncs it, renames it into place and
fsyncs the directory. The path is derived from the SHA-256 of the content
(``ab/cd/abcd…``), never from the name a person gave the file, so a name such as
``../../etc/passwd`` cannot reach outside the store; paths handed back in for reading or
deleting are checked to stay inside the root too. The original name and type live in the
``stored_files`` table. Blocking file I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO


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
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

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
        if not target.exists():
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
        """Open a stored file for reading (the caller closes it); blocking, for streaming."""
        return self.resolve(path).open("rb")

    async def read(self, path: str) -> bytes:
        """Return a stored file's bytes."""
        return await asyncio.to_thread(self.resolve(path).read_bytes)

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
