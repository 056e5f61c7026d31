"""``build_teams_package``: the zip Teams installs, with the real app id."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.packaging import (
    TEAMS_APP_ID_PLACEHOLDER,
    TEAMS_PACKAGE_NAME,
    build_teams_package,
    load_teams_manifest,
    png_size,
    teams_manifest_with_app_id,
)
from tests.manifests.conftest import TeamsValidatorFor
from tests.manifests.helpers import MANIFESTS_DIR, png_header, schema_errors

APP_ID = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return build_teams_package(app_id=APP_ID, out=tmp_path / "dist" / "teams.zip")


def _manifest_in(package: Path) -> dict[str, Any]:
    with zipfile.ZipFile(package) as archive:
        data: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return data


def test_package_holds_exactly_three_files_at_the_root(package: Path, tmp_path: Path) -> None:
    assert package == tmp_path / "dist" / "teams.zip"
    with zipfile.ZipFile(package) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_real_app_id_is_substituted(package: Path) -> None:
    manifest = _manifest_in(package)
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    with zipfile.ZipFile(package) as archive:
        assert TEAMS_APP_ID_PLACEHOLDER.encode() not in archive.read("manifest.json")
    # Everything else is the committed manifest, unchanged.
    committed = load_teams_manifest()
    committed["id"] = APP_ID
    committed["bots"][0]["botId"] = APP_ID
    assert manifest == committed


def test_manifest_in_package_is_valid(
    package: Path, teams_validator_for: TeamsValidatorFor
) -> None:
    manifest = _manifest_in(package)
    assert schema_errors(teams_validator_for(manifest), manifest) == []


def test_icons_in_package_have_teams_sizes(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        assert png_header(archive.read("color.png"))[:2] == (192, 192)
        assert png_header(archive.read("outline.png"))[:2] == (32, 32)
        assert archive.read("color.png") == (MANIFESTS_DIR / "teams" / "color.png").read_bytes()


def test_package_is_reproducible(tmp_path: Path) -> None:
    first = build_teams_package(app_id=APP_ID, out=tmp_path / "a.zip")
    second = build_teams_package(app_id=APP_ID, out=tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()


def test_out_may_be_a_folder(tmp_path: Path) -> None:
    path = build_teams_package(app_id=APP_ID, out=tmp_path)
    assert path == tmp_path / TEAMS_PACKAGE_NAME
    assert zipfile.is_zipfile(path)


def test_app_id_whitespace_is_ignored(tmp_path: Path) -> None:
    path = build_teams_package(app_id=f"  {APP_ID.upper()}\n", out=tmp_path / "x.zip")
    assert _manifest_in(path)["id"] == APP_ID.upper()


@pytest.mark.parametrize(
    ("app_id", "message"),
    [
        ("", "GUID"),
        ("not-a-guid", "GUID"),
        ("{{TEAMS_APP_ID}}", "GUID"),
        (f"{{{APP_ID}}}", "GUID"),
        (APP_ID + "0", "GUID"),
        (APP_ID.replace("-", ""), "GUID"),
        (TEAMS_APP_ID_PLACEHOLDER, "placeholder"),
    ],
)
def test_non_guid_app_id_is_refused(app_id: str, message: str, tmp_path: Path) -> None:
    out = tmp_path / "teams.zip"
    with pytest.raises(ValueError, match=message):
        build_teams_package(app_id=app_id, out=out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_with_app_id_leaves_the_input_alone() -> None:
    manifest = load_teams_manifest()
    updated = teams_manifest_with_app_id(manifest, APP_ID)
    assert updated["id"] == APP_ID
    assert manifest["id"] == TEAMS_APP_ID_PLACEHOLDER


def _copy_manifests(tmp_path: Path) -> Path:
    shutil.copytree(MANIFESTS_DIR / "teams", tmp_path / "manifests" / "teams")
    return tmp_path / "manifests"


def test_wrong_icon_size_is_refused(tmp_path: Path) -> None:
    manifests = _copy_manifests(tmp_path)
    outline = (manifests / "teams" / "outline.png").read_bytes()
    (manifests / "teams" / "color.png").write_bytes(outline)  # 32x32 where 192x192 belongs
    with pytest.raises(ValueError, match="192x192"):
        build_teams_package(app_id=APP_ID, out=tmp_path / "t.zip", manifest_dir=manifests)


def test_icon_outside_the_root_is_refused(tmp_path: Path) -> None:
    manifests = _copy_manifests(tmp_path)
    path = manifests / "teams" / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["icons"]["color"] = "icons/color.png"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="package root"):
        build_teams_package(app_id=APP_ID, out=tmp_path / "t.zip", manifest_dir=manifests)


def test_missing_manifests_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="manifests folder not found"):
        build_teams_package(app_id=APP_ID, out=tmp_path / "t.zip", manifest_dir=tmp_path / "no")


def test_png_size() -> None:
    assert png_size((MANIFESTS_DIR / "teams" / "outline.png").read_bytes()) == (32, 32)
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(b"GIF89a" + bytes(30))
