"""The command line as an operator uses it: check-pack, db upgrade, manifest, teams-package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACK = ROOT / "bot" / "policy" / "packs" / "default.yaml"


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_pack_accepts_both_shipped_packs(tmp_path: Path) -> None:
    for pack in (DEFAULT_PACK, DEFAULT_PACK.with_name("example-northshire.yaml")):
        result = run("check-pack", str(pack), cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("OK: ")


def test_check_pack_names_file_line_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = DEFAULT_PACK.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("  time_zone: Europe/London", "  time_zone: Mars/Olympus", 1), encoding="utf-8"
    )
    result = run("check-pack", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "time_zone:" in t)
    assert f"broken.yaml:{line}: organisation.time_zone" in result.stdout + result.stderr


def test_db_upgrade_creates_the_embedded_database(tmp_path: Path) -> None:
    result = run("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "bot.db").exists()


def test_teams_package_needs_a_real_app_id(tmp_path: Path) -> None:
    refused = run("teams-package", "--out", str(tmp_path), cwd=tmp_path, TEAMS_APP_ID="nope")
    assert refused.returncode == 1 and "TEAMS_APP_ID" in refused.stderr
    app_id = "11111111-2222-3333-4444-555555555555"
    built = run("teams-package", "--out", str(tmp_path), cwd=tmp_path, TEAMS_APP_ID=app_id)
    assert built.returncode == 0, built.stderr
    [package] = tmp_path.glob("*.zip")
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert app_id in archive.read("manifest.json").decode()


def test_manifest_prints_the_slack_manifest_for_a_host(tmp_path: Path) -> None:
    result = run("manifest", "slack", "--url", "https://bot.example.org", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "https://bot.example.org/slack/events" in result.stdout
    assert "/report-abuse" in result.stdout
