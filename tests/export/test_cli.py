"""``python -m bot export case REF --format …`` as an operator runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.export.conftest import REFERENCE, Seeded

ROOT = Path(__file__).resolve().parents[2]


def run(seeded: Seeded, cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run the export command against the seeded database, from ``cwd`` (no ``.env``)."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_POLICY_PACK"}
    env["DATABASE_URL"] = seeded.url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "bot", "export", "case", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


async def test_json_to_stdout(seeded: Seeded, tmp_path: Path) -> None:
    done = run(seeded, tmp_path, REFERENCE, "--format", "json")
    assert done.returncode == 0, done.stderr.decode()
    doc = json.loads(done.stdout.decode("utf-8"))
    assert doc["case"]["reference"] == REFERENCE
    assert [v["number"] for v in doc["versions"]] == [1, 2]
    assert doc["decision"]["decision"] == "approve"


async def test_html_and_pdf_to_files(seeded: Seeded, tmp_path: Path) -> None:
    for fmt in ("html", "pdf"):
        out = tmp_path / "exports" / f"case.{fmt}"
        done = run(seeded, tmp_path, REFERENCE, "--format", fmt, "--out", str(out))
        assert done.returncode == 0, done.stderr.decode()
        assert REFERENCE.encode() in out.read_bytes()
    assert (tmp_path / "exports" / "case.pdf").read_bytes().startswith(b"%PDF")


async def test_pdf_needs_a_file(seeded: Seeded, tmp_path: Path) -> None:
    done = run(seeded, tmp_path, REFERENCE, "--format", "pdf")
    assert done.returncode == 2
    assert b"--out" in done.stderr
    assert done.stdout == b""


async def test_unknown_reference_exits_1_with_a_message(seeded: Seeded, tmp_path: Path) -> None:
    done = run(seeded, tmp_path, "SC-1999-9999", "--format", "json")
    assert done.returncode == 1
    assert b"No case with reference 'SC-1999-9999'" in done.stderr
    assert done.stdout == b""
