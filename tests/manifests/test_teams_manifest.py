"""The Teams app manifest and its icons, as committed (with the placeholder app id)."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.packaging import TEAMS_APP_ID_PLACEHOLDER, load_teams_manifest
from tests.manifests.conftest import TeamsValidatorFor
from tests.manifests.helpers import MANIFESTS_DIR, png_header, png_rgba, schema_errors

TEAMS_DIR = MANIFESTS_DIR / "teams"


@pytest.fixture
def manifest() -> dict[str, Any]:
    return load_teams_manifest()


def _commands(manifest: dict[str, Any], scope: str) -> dict[str, str]:
    lists = [c for c in manifest["bots"][0]["commandLists"] if scope in c["scopes"]]
    assert len(lists) == 1, f"expected one command list for scope {scope}"
    return {c["title"]: c["description"] for c in lists[0]["commands"]}


# ----------------------------------------------------------------------------- schema


def test_manifest_validates_against_its_declared_schema(
    manifest: dict[str, Any], teams_validator_for: TeamsValidatorFor
) -> None:
    assert manifest["$schema"].endswith(
        f"/v{manifest['manifestVersion']}/" + "MicrosoftTeams.schema.json"
    )
    assert schema_errors(teams_validator_for(manifest), manifest) == []


def test_manifest_also_fits_the_newest_ga_schema(
    manifest: dict[str, Any], teams_validator_for: TeamsValidatorFor
) -> None:
    """Moving to v1.30 later needs nothing but the version number."""
    newer = dict(
        manifest,
        manifestVersion="1.30",
        **{
            "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
        },
    )
    assert schema_errors(teams_validator_for(newer), newer) == []


def test_schema_check_enforces_const(
    manifest: dict[str, Any], teams_validator_for: TeamsValidatorFor
) -> None:
    """Draft7Validator is used because Draft4Validator would ignore ``const``."""
    wrong = dict(manifest, manifestVersion="1.29")
    assert any(
        "manifestVersion" in error for error in schema_errors(teams_validator_for(wrong), wrong)
    )


def test_placeholder_app_id_is_a_guid_the_schema_accepts(
    manifest: dict[str, Any], teams_validator_for: TeamsValidatorFor
) -> None:
    assert manifest["id"] == TEAMS_APP_ID_PLACEHOLDER
    assert manifest["bots"][0]["botId"] == TEAMS_APP_ID_PLACEHOLDER
    not_a_guid = copy.deepcopy(manifest)
    not_a_guid["id"] = "{{TEAMS_APP_ID}}"
    assert schema_errors(teams_validator_for(not_a_guid), not_a_guid)


# ----------------------------------------------------------------------------- content


def test_bot_scopes_files_and_conversation(manifest: dict[str, Any]) -> None:
    assert len(manifest["bots"]) == 1
    bot = manifest["bots"][0]
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert bot["supportsFiles"] is True  # evidence arrives as chat attachments
    assert bot["isNotificationOnly"] is False
    assert set(manifest["permissions"]) == {"identity", "messageTeamMembers"}


def test_personal_commands(manifest: dict[str, Any]) -> None:
    commands = _commands(manifest, "personal")
    assert {"report abuse", "social case", "home", "replies", "help"} <= set(commands)
    assert "abusive" in commands["report abuse"]
    assert "social media" in commands["social case"]


def test_team_commands(manifest: dict[str, Any]) -> None:
    assert set(_commands(manifest, "team")) == {"bind abuse-triage", "bind board", "help"}


def test_names_developer_and_colours(manifest: dict[str, Any]) -> None:
    assert manifest["name"]["short"] == "Staff Safety"
    developer = manifest["developer"]
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert developer[key].startswith("https://")
    slack = yaml.safe_load((MANIFESTS_DIR / "slack" / "manifest.yaml").read_text("utf-8"))
    assert (
        manifest["accentColor"].lower() == slack["display_information"]["background_color"].lower()
    )


def test_manifest_file_is_plain_json() -> None:
    text = (TEAMS_DIR / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text) == load_teams_manifest()


# ----------------------------------------------------------------------------- icons


@pytest.mark.parametrize(("name", "size"), [("color.png", 192), ("outline.png", 32)])
def test_icon_sizes(name: str, size: int) -> None:
    width, height, _depth, _colour, _interlace = png_header((TEAMS_DIR / name).read_bytes())
    assert (width, height) == (size, size)


def test_outline_icon_is_white_on_transparent() -> None:
    pixels = png_rgba((TEAMS_DIR / "outline.png").read_bytes())
    visible = [p for p in pixels if p[3] > 0]
    assert visible, "the outline icon is empty"
    assert all(p[:3] == (255, 255, 255) for p in visible), "outline must be white only"
    assert any(p[3] == 0 for p in pixels), "outline must have a transparent background"


def test_color_icon_is_opaque() -> None:
    pixels = png_rgba((TEAMS_DIR / "color.png").read_bytes())
    assert all(p[3] == 255 for p in pixels)
    assert len({p[:3] for p in pixels}) > 2


def test_icons_match_their_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_icons", TEAMS_DIR / "make_icons.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["make_icons.py", str(tmp_path)]) == 0
    for name in ("color.png", "outline.png"):
        assert (tmp_path / name).read_bytes() == (TEAMS_DIR / name).read_bytes(), (
            f"{name} differs from make_icons.py's output: run python manifests/teams/make_icons.py"
        )
