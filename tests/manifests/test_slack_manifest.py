"""The Slack app manifests: valid against Slack's schema, complete, and kept in sync."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.packaging import (
    SLACK_HOST_PLACEHOLDER,
    load_slack_manifest,
    render_slack_manifest,
)
from tests.manifests.helpers import MANIFESTS_DIR, schema_errors

SLACK_DIR = MANIFESTS_DIR / "slack"
HTTP_FILE = SLACK_DIR / "manifest.yaml"
SOCKET_FILE = SLACK_DIR / "manifest.socket-mode.yaml"
PLACEHOLDER_URL = f"{SLACK_HOST_PLACEHOLDER}/slack/events"

EXPECTED_BOT_SCOPES = {
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "users:read.email",
    "files:read",
    "channels:read",
    "groups:read",
    "app_mentions:read",
}

# The only places where the HTTP and Socket Mode manifests may differ.
_URL_KEYS = {"url", "request_url", "message_menu_options_url"}


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _without_transport(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest minus request URLs and the Socket Mode switch."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in _URL_KEYS}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    stripped = strip(copy.deepcopy(manifest))
    stripped.get("settings", {}).pop("socket_mode_enabled", None)
    return stripped


def _urls(manifest: dict[str, Any]) -> list[str]:
    """Every request URL in the manifest, wherever it is."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _URL_KEYS:
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(manifest)
    return found


@pytest.fixture(params=["http", "socket"])
def manifest(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _read(HTTP_FILE if request.param == "http" else SOCKET_FILE)


# ----------------------------------------------------------------------------- schema


@pytest.mark.parametrize("path", [HTTP_FILE, SOCKET_FILE], ids=["http", "socket"])
def test_manifest_validates_against_slack_schema(
    path: Path, slack_validator: Draft7Validator
) -> None:
    assert schema_errors(slack_validator, _read(path)) == []


def test_schema_check_is_real(slack_validator: Draft7Validator) -> None:
    """The local refs resolve and the v1 rules bite: an unknown feature is refused."""
    broken = _read(HTTP_FILE)
    broken["features"]["not_a_feature"] = True
    assert schema_errors(slack_validator, broken)
    too_long = _read(HTTP_FILE)
    too_long["features"]["shortcuts"][0]["name"] = "x" * 25  # Slack's limit is 24
    assert schema_errors(slack_validator, too_long)


def test_manifest_with_real_host_still_validates(slack_validator: Draft7Validator) -> None:
    manifest = load_slack_manifest("http", "https://bot.example.org")
    assert schema_errors(slack_validator, manifest) == []


# ----------------------------------------------------------------------------- content


def test_metadata_and_display_information(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"] == {"major_version": 1}
    info = manifest["display_information"]
    assert info["name"] == "Staff Safety"
    assert "abusive" in info["description"] and "social media" in info["description"]
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])


def test_slash_commands(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/report-abuse", "/social-case", "/staff-safety"}
    assert commands["/report-abuse"]["description"] == (
        "Report abusive, threatening or malicious contact you received because of your work"
    )
    assert commands["/social-case"]["description"] == (
        "Start or resume a business case for a new organisational social media presence"
    )
    assert "bind abuse-triage" in commands["/staff-safety"]["usage_hint"]
    assert "bind board" in commands["/staff-safety"]["usage_hint"]
    assert all(c["should_escape"] is False for c in commands.values())


def test_shortcuts(manifest: dict[str, Any]) -> None:
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert set(shortcuts) == {"report_abuse", "social_case", "suggest_reply"}
    assert shortcuts["report_abuse"]["type"] == "global"
    assert shortcuts["social_case"]["type"] == "global"
    assert shortcuts["suggest_reply"]["type"] == "message"
    assert shortcuts["suggest_reply"]["name"] == "Suggest a reply"


def test_app_home_bot_user_and_settings(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert manifest["features"]["bot_user"]["always_online"] is True
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.im",
        "app_mention",
    }
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_bot_scopes_are_exactly_what_the_bot_needs(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "the bot asks for no user-token scopes"
    assert set(scopes["bot"]) == EXPECTED_BOT_SCOPES
    assert len(scopes["bot"]) == len(EXPECTED_BOT_SCOPES)
    # Each event needs its scope: message.im -> im:history, app_mention -> app_mentions:read.
    assert "im:history" in scopes["bot"] and "app_mentions:read" in scopes["bot"]


@pytest.mark.parametrize("path", [HTTP_FILE, SOCKET_FILE], ids=["http", "socket"])
def test_every_scope_is_justified_in_a_comment(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "bot:")
    scope_lines = []
    for line in lines[start + 1 :]:
        if not line.strip().startswith("- "):
            break
        scope_lines.append(line)
    assert len(scope_lines) == len(EXPECTED_BOT_SCOPES)
    for line in scope_lines:
        scope, _, comment = line.strip()[2:].partition("#")
        assert comment.strip(), f"scope {scope.strip()} has no justification comment"


# ----------------------------------------------------------------------------- modes


def test_http_manifest_routes_everything_to_slack_events() -> None:
    manifest = _read(HTTP_FILE)
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert all(c["url"] == PLACEHOLDER_URL for c in manifest["features"]["slash_commands"])
    assert settings["event_subscriptions"]["request_url"] == PLACEHOLDER_URL
    assert settings["interactivity"]["request_url"] == PLACEHOLDER_URL
    assert settings["interactivity"]["message_menu_options_url"] == PLACEHOLDER_URL
    assert len(_urls(manifest)) == 6


def test_socket_manifest_has_no_urls() -> None:
    manifest = _read(SOCKET_FILE)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _urls(manifest) == []
    assert "YOUR-HOST" not in yaml.safe_dump(manifest)


def test_http_and_socket_manifests_differ_only_in_transport() -> None:
    http, socket = _read(HTTP_FILE), _read(SOCKET_FILE)
    assert http != socket
    assert _without_transport(http) == _without_transport(socket)


# ----------------------------------------------------------------------------- loader


@pytest.mark.parametrize(
    "public_url",
    [
        "https://bot.example.org",
        "https://bot.example.org/",
        "https://bot.example.org/slack/events",
        " https://bot.example.org ",
    ],
)
def test_load_http_manifest_puts_the_host_in(public_url: str) -> None:
    manifest = load_slack_manifest("http", public_url)
    urls = _urls(manifest)
    assert len(urls) == 6
    assert set(urls) == {"https://bot.example.org/slack/events"}


def test_load_http_manifest_keeps_a_path_prefix_and_port() -> None:
    manifest = load_slack_manifest("http", "https://gw.example.org:8443/staff-safety")
    assert set(_urls(manifest)) == {"https://gw.example.org:8443/staff-safety/slack/events"}


def test_load_without_url_returns_the_template() -> None:
    assert load_slack_manifest("http", None) == _read(HTTP_FILE)
    assert load_slack_manifest("socket") == _read(SOCKET_FILE)


@pytest.mark.parametrize(
    ("mode", "public_url", "message"),
    [
        ("http", "http://bot.example.org", "HTTPS"),
        ("http", "bot.example.org", "HTTPS"),
        ("http", "https://", "HTTPS"),
        ("http", "https://bot.example.org/?a=1", "query"),
        ("http", "https://bot.example.org/#x", "fragment"),
        ("http", "https://bot.example.org/a b", "spaces"),
        ("socket", "https://bot.example.org", "Socket Mode"),
        ("websocket", None, "mode"),
    ],
)
def test_load_refuses_bad_arguments(mode: Any, public_url: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_slack_manifest(mode, public_url)


def test_render_keeps_comments_and_matches_load() -> None:
    text = render_slack_manifest("http", "https://bot.example.org")
    assert "# Slack app manifest for Staff Safety" in text
    assert "- commands  #" in text
    assert yaml.safe_load(text) == load_slack_manifest("http", "https://bot.example.org")
    values = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("YOUR-HOST" in line for line in values)
    assert render_slack_manifest("socket") == SOCKET_FILE.read_text(encoding="utf-8")


def test_manifest_dir_override(tmp_path: Path) -> None:
    shutil.copytree(SLACK_DIR, tmp_path / "slack")
    custom = tmp_path / "slack" / "manifest.yaml"
    custom.write_text(
        custom.read_text(encoding="utf-8").replace("name: Staff Safety", "name: Our Safety", 1),
        encoding="utf-8",
    )
    manifest = load_slack_manifest("http", "https://bot.example.org", manifest_dir=tmp_path)
    assert manifest["display_information"]["name"] == "Our Safety"
    with pytest.raises(FileNotFoundError, match="manifests folder not found"):
        load_slack_manifest("http", manifest_dir=tmp_path / "missing")
