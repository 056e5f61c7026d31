"""App manifests for Slack and Microsoft Teams, ready to install.

The manifests live in the repository's ``manifests/`` folder (see ARCHITECTURE.md, layout):

* ``manifests/slack/manifest.yaml``: the Slack app in HTTP mode; every request URL is
  ``https://YOUR-HOST/slack/events``. :func:`load_slack_manifest` puts the real address in.
* ``manifests/slack/manifest.socket-mode.yaml``: the same app in Socket Mode (no URLs).
* ``manifests/teams/manifest.json`` with ``color.png`` and ``outline.png``: the Teams app. The
  committed manifest carries the all-zero GUID as a placeholder for the app id (the schema
  insists on a GUID); :func:`build_teams_package` writes the zip Teams installs, with the real
  Microsoft App ID of the bot registration in ``id`` and ``bots[].botId``.

The command line wires these up as ``python -m bot manifest slack [--socket] [--url URL]`` and
``python -m bot teams-package --out FILE`` (app id from ``TEAMS_APP_ID``).

This module only reads and writes files: no platform SDK, no network, no schema library. The
schema checks against the official schemas are in ``tests/manifests/``.
"""

from __future__ import annotations

import copy
import json
import re
import struct
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

__all__ = [
    "DEFAULT_MANIFEST_DIR",
    "SLACK_HOST_PLACEHOLDER",
    "SLACK_REQUEST_PATH",
    "TEAMS_APP_ID_PLACEHOLDER",
    "TEAMS_ICON_SIZES",
    "TEAMS_PACKAGE_NAME",
    "build_teams_package",
    "load_slack_manifest",
    "load_teams_manifest",
    "png_size",
    "render_slack_manifest",
    "teams_manifest_with_app_id",
]

#: ``manifests/`` at the repository root (``bot/`` is one level below it).
DEFAULT_MANIFEST_DIR = Path(__file__).resolve().parents[1] / "manifests"

#: What the HTTP-mode Slack manifest says instead of the bot's public address.
SLACK_HOST_PLACEHOLDER = "https://YOUR-HOST"
#: The one path on which the bot takes all Slack traffic (ARCHITECTURE.md, interfaces).
SLACK_REQUEST_PATH = "/slack/events"

_SLACK_FILES: dict[str, str] = {
    "http": "manifest.yaml",
    "socket": "manifest.socket-mode.yaml",
}

#: The committed Teams manifest's stand-in for the app id: the schema requires a GUID.
TEAMS_APP_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
#: Pixel sizes Teams requires for the two icons, by their key in ``manifest["icons"]``.
TEAMS_ICON_SIZES: dict[str, tuple[int, int]] = {"color": (192, 192), "outline": (32, 32)}
#: File name used when ``build_teams_package`` is given a folder rather than a file.
TEAMS_PACKAGE_NAME = "staff-safety-teams-app.zip"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Fixed time stamp for zip entries, so the same inputs always give the same bytes.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def _manifest_dir(manifest_dir: Path | None) -> Path:
    """The manifests folder to use: the override, or ``manifests/`` in the repository."""
    folder = Path(manifest_dir) if manifest_dir is not None else DEFAULT_MANIFEST_DIR
    if not folder.is_dir():
        raise FileNotFoundError(
            f"manifests folder not found: {folder} (the manifests live in the repository's "
            "manifests/ folder; pass manifest_dir to use another copy)"
        )
    return folder


# --------------------------------------------------------------------------- Slack


def _slack_base_url(public_url: str) -> str:
    """Check the bot's public address and return it without a trailing slash.

    Accepts ``https://host``, ``https://host:8443`` or ``https://host/prefix`` (behind a
    reverse proxy); a URL that already ends in ``/slack/events`` is accepted too.
    """
    url = public_url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            f"Slack request URLs must be public HTTPS addresses such as "
            f"https://bot.example.org; got {public_url!r}"
        )
    if parts.query or parts.fragment or any(ch.isspace() for ch in url):
        raise ValueError(
            f"the public URL must be a plain address without spaces, query or fragment; "
            f"got {public_url!r}"
        )
    url = url.rstrip("/")
    if url.endswith(SLACK_REQUEST_PATH):
        url = url[: -len(SLACK_REQUEST_PATH)]
    return url


def _replace_host(node: Any, base_url: str) -> Any:
    """Copy ``node``, replacing the placeholder host at the start of every string."""
    if isinstance(node, dict):
        return {key: _replace_host(value, base_url) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_host(value, base_url) for value in node]
    if isinstance(node, str) and node.startswith(SLACK_HOST_PLACEHOLDER):
        return base_url + node[len(SLACK_HOST_PLACEHOLDER) :]
    return node


def _slack_source(mode: str, public_url: str | None, manifest_dir: Path | None) -> str:
    """Read the manifest text for ``mode`` after checking the arguments fit together."""
    if mode not in _SLACK_FILES:
        raise ValueError(f"mode must be 'http' or 'socket', not {mode!r}")
    if mode == "socket" and public_url is not None:
        raise ValueError(
            "Socket Mode uses no request URLs: leave out the public URL, or use mode 'http'"
        )
    path = _manifest_dir(manifest_dir) / "slack" / _SLACK_FILES[mode]
    return path.read_text(encoding="utf-8")


def load_slack_manifest(
    mode: Literal["http", "socket"] = "http",
    public_url: str | None = None,
    *,
    manifest_dir: Path | None = None,
) -> dict[str, Any]:
    """Load the Slack app manifest as a dict, with the bot's public address put in.

    ``mode`` is ``"http"`` (Events API over HTTPS: ``manifest.yaml``) or ``"socket"`` (Socket
    Mode: ``manifest.socket-mode.yaml``). In HTTP mode, every ``https://YOUR-HOST`` is replaced
    by ``public_url`` (for example ``https://bot.example.org``, giving
    ``https://bot.example.org/slack/events``); with ``public_url=None`` the placeholder is
    left in place, for a template. In Socket Mode there are no URLs, so ``public_url`` must be
    ``None``.

    Raises ``ValueError`` for an unknown mode, a URL that is not a plain ``https://`` address,
    or a URL given for Socket Mode; ``FileNotFoundError`` when the manifests are missing.
    """
    source = _slack_source(mode, public_url, manifest_dir)
    manifest = yaml.safe_load(source)
    if not isinstance(manifest, dict):
        raise ValueError(f"the Slack {mode} manifest is not a YAML mapping")
    if public_url is None:
        return manifest
    replaced: dict[str, Any] = _replace_host(manifest, _slack_base_url(public_url))
    return replaced


def render_slack_manifest(
    mode: Literal["http", "socket"] = "http",
    public_url: str | None = None,
    *,
    manifest_dir: Path | None = None,
) -> str:
    """The Slack manifest as YAML text, comments kept, with the public address put in.

    Same arguments and errors as :func:`load_slack_manifest`, whose result the returned text
    parses to. Meant for printing: Slack's "From a manifest" dialog takes this YAML as is.
    """
    source = _slack_source(mode, public_url, manifest_dir)
    if public_url is None:
        return source
    base_url = _slack_base_url(public_url)
    # Replace in values only: whole-line comments keep describing the placeholder.
    text = "".join(
        line if line.lstrip().startswith("#") else line.replace(SLACK_HOST_PLACEHOLDER, base_url)
        for line in source.splitlines(keepends=True)
    )
    expected = load_slack_manifest(mode, public_url, manifest_dir=manifest_dir)
    if yaml.safe_load(text) != expected:  # pragma: no cover - guarded by _slack_base_url
        raise ValueError(f"the public URL {public_url!r} cannot be written into YAML as is")
    return text


# --------------------------------------------------------------------------- Teams


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG image, read from its IHDR chunk.

    Raises ``ValueError`` when ``data`` is not a PNG.
    """
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def load_teams_manifest(manifest_dir: Path | None = None) -> dict[str, Any]:
    """The committed Teams manifest (with the placeholder app id), as a dict."""
    path = _manifest_dir(manifest_dir) / "teams" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError(f"{path} is not a JSON object")
    return manifest


def _check_app_id(app_id: str) -> str:
    """Return the app id stripped of spaces, or raise ``ValueError`` saying what is wrong."""
    cleaned = app_id.strip() if isinstance(app_id, str) else ""
    if not _GUID.match(cleaned):
        raise ValueError(
            "the Teams app id must be the bot registration's Microsoft App ID, a GUID such as "
            f"6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7 (set TEAMS_APP_ID); got {app_id!r}"
        )
    if cleaned == TEAMS_APP_ID_PLACEHOLDER:
        raise ValueError(
            "the Teams app id is still the all-zero placeholder: set TEAMS_APP_ID to the bot "
            "registration's Microsoft App ID"
        )
    return cleaned


def teams_manifest_with_app_id(manifest: dict[str, Any], app_id: str) -> dict[str, Any]:
    """A copy of ``manifest`` with ``app_id`` as the app ``id`` and every bot's ``botId``.

    The app id and the bot id are the same GUID: the Microsoft App ID of the Azure Bot
    registration, which is also what ``TEAMS_APP_ID`` holds for the running bot. Raises
    ``ValueError`` when ``app_id`` is not a GUID or is the placeholder.
    """
    app_id = _check_app_id(app_id)
    result = copy.deepcopy(manifest)
    result["id"] = app_id
    bots = result.get("bots") or []
    if not bots:
        raise ValueError("the Teams manifest declares no bot")
    for bot in bots:
        bot["botId"] = app_id
    return result


def _icon_files(manifest: dict[str, Any], teams_dir: Path) -> dict[str, bytes]:
    """Read the icons the manifest names; check they sit at the root and have Teams' sizes."""
    icons = manifest.get("icons") or {}
    files: dict[str, bytes] = {}
    for key, size in TEAMS_ICON_SIZES.items():
        name = icons.get(key)
        if not isinstance(name, str) or not name:
            raise ValueError(f"the Teams manifest names no {key} icon")
        if PurePosixPath(name).name != name or "\\" in name:
            raise ValueError(
                f"the {key} icon must be a file name at the package root, not {name!r}"
            )
        path = teams_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"the {key} icon {path} is missing")
        data = path.read_bytes()
        try:
            actual = png_size(data)
        except ValueError:
            raise ValueError(f"the {key} icon {path} is not a PNG image") from None
        if actual != size:
            raise ValueError(
                f"the {key} icon {path} is {actual[0]}x{actual[1]} pixels; "
                f"Teams needs {size[0]}x{size[1]}"
            )
        files[name] = data
    return files


def build_teams_package(*, app_id: str, out: Path, manifest_dir: Path | None = None) -> Path:
    """Write the Teams app package (a zip) and return its path.

    The zip holds, at its root as Teams requires, ``manifest.json`` with ``app_id`` in
    ``id`` and ``bots[].botId``, and the two icons the manifest names (``color.png``, 192 x
    192, and ``outline.png``, 32 x 32). ``out`` is the zip's path; if it is an existing folder
    the zip is written into it as ``staff-safety-teams-app.zip``. Parent folders are created.
    The same inputs always give the same bytes.

    Raises ``ValueError`` when ``app_id`` is not a GUID (or is the all-zero placeholder) or an
    icon is missing, misplaced or the wrong size; ``FileNotFoundError`` when the manifests
    are missing.
    """
    app_id = _check_app_id(app_id)
    teams_dir = _manifest_dir(manifest_dir) / "teams"
    manifest = teams_manifest_with_app_id(load_teams_manifest(manifest_dir), app_id)
    icons = _icon_files(manifest, teams_dir)

    target = Path(out)
    if target.is_dir():
        target = target / TEAMS_PACKAGE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)

    entries: dict[str, bytes] = {
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(
            "utf-8"
        ),
        **icons,
    }
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    tmp.replace(target)
    return target
