"""``python -m bot evidence-pack verify FILE.zip``: is the pack as it was made?

Recomputes the SHA-256 and size of every member listed in ``manifest.json`` and compares
the archive's members with the list. Prints ``OK`` or one line per problem, naming the
file: ``changed:``, ``removed:`` or ``added:`` (a second entry with a name already in the
zip counts as added). It also recomputes the hash chain in ``timeline.json`` and says
whether it holds, since that is what an investigator will ask next.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from bot.register.pack import MANIFEST, chain_intact

CHUNK = 1 << 20


def check_pack(path: Path) -> tuple[list[str], dict[str, Any]]:
    """The problems found in the pack at ``path`` (none when intact), and its manifest.

    Raises:
        ValueError: when the file is not a zip or has no readable manifest.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable zip file: {error}") from None
    with archive:
        names = Counter(info.filename for info in archive.infolist())
        try:
            manifest = json.loads(archive.read(MANIFEST))
            listed = {m["name"]: m for m in manifest["members"]}
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(f"{path} has no readable {MANIFEST}: {error}") from None
        problems = []
        for name, member in listed.items():
            if name not in names:
                problems.append(f"removed: {name}")
            elif _digest(archive, name) != (member.get("sha256"), member.get("size")):
                problems.append(f"changed: {name}")
        for name, copies in names.items():
            if name != MANIFEST and name not in listed:
                problems.append(f"added: {name}")
            elif copies > 1:
                problems.append(f"added: {name} (a second entry with this name)")
    return problems, manifest


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int] | None:
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        return None  # damaged in place: the zip's own checksum no longer matches
    return digest.hexdigest(), size


def _chain_line(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            timeline = json.loads(archive.read("timeline.json"))
        intact = chain_intact(timeline["events"])
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, zlib.error):
        return "timeline.json: cannot be read"
    return f"timeline.json hash chain: {'intact' if intact else 'BROKEN'}"


def verify_command(path: Path) -> int:
    """Run the check and print the result; return 0 when intact, 1 otherwise."""
    try:
        problems, manifest = check_pack(path)
    except ValueError as error:
        print(f"FAILED: {error}")
        return 1
    reference = manifest.get("reference", "?")
    for problem in problems:
        print(problem)
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in the evidence pack for {reference}")
        return 1
    print(_chain_line(path))
    print(f"OK: {len(manifest['members'])} files match the manifest of {reference}")
    return 0
