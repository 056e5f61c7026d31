"""Fixtures for policy pack tests: the packs on disk and a way to write broken copies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

PACKS = Path(__file__).resolve().parents[2] / "bot" / "policy" / "packs"
DEFAULT_PACK = PACKS / "default.yaml"
NORTHSHIRE_PACK = PACKS / "example-northshire.yaml"

#: The seed policies, when the shared docs sit next to the repository (skipped otherwise).
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


@pytest.fixture
def default_text() -> str:
    """The default pack's YAML."""
    return DEFAULT_PACK.read_text(encoding="utf-8")


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to ``tmp_path/pack.yaml`` and return its path."""

    def write(text: str, name: str = "pack.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def replace_once(text: str, old: str, new: str) -> str:
    """Replace ``old`` exactly once, failing loudly if the pack changed under the test."""
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)
