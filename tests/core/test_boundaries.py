"""The core imports no platform SDK, and secrets never show up in reprs or logs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest")
CORE_MODULES = [
    "bot.cards",
    "bot.actions",
    "bot.model",
    "bot.core",
    "bot.delivery",
    "bot.messaging",
    "bot.flows.engine",
    "bot.flows.spec",
    "bot.flows.cards",
    "bot.flows.abuse_report",
    "bot.flows.business_case",
    "bot.cases.lifecycle",
    "bot.cases.service",
    "bot.policy",
    "bot.storage.engine",
    "bot.storage.tables",
    "bot.storage.migrate",
    "bot.storage.files",
    "bot.storage.repos.cases",
    "bot.storage.repos.outbox",
    "bot.config",
    "bot.records.audit",
    "bot.records.hold",
    "bot.records.purge",
]

BLOCKER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {PLATFORM_SDKS!r}:
            raise ImportError('platform SDK imported by the core: ' + name)
        return None
sys.meta_path.insert(0, Block())
import importlib
for module in {CORE_MODULES!r}:
    importlib.import_module(module)
print('ok')
"""


def test_core_imports_with_platform_sdks_blocked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_no_platform_sdk_import_outside_its_handler_folder() -> None:
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                slack_ok = relative.startswith("bot/handlers/slack/")
                teams_ok = relative.startswith("bot/handlers/teams/")
                if top in ("slack_bolt", "slack_sdk") and not slack_ok:
                    offenders.append(f"{relative}: {name}")
                if top in ("botbuilder", "botframework", "msrest") and not teams_ok:
                    offenders.append(f"{relative}: {name}")
    assert offenders == []


def test_every_module_has_a_docstring() -> None:
    missing = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bot").rglob("*.py")
        if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
        and path.stat().st_size > 0
    ]
    assert missing == []


def test_secrets_are_never_shown() -> None:
    settings = Settings(
        _env_file=None,
        SLACK_BOT_TOKEN="xoxb-very-secret",
        SLACK_SIGNING_SECRET="sign-secret",
        TEAMS_APP_PASSWORD="teams-secret",
    )
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("xoxb-very-secret", "sign-secret", "teams-secret"):
        assert secret not in shown


def test_settings_read_exactly_the_documented_variables(monkeypatch: object) -> None:
    names = {field.alias for field in Settings.model_fields.values()}
    assert names == {
        "DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "TEAMS_APP_ID",
        "TEAMS_APP_PASSWORD",
        "TEAMS_TENANT_ID",
        "BOT_POLICY_PACK",
        "PORT",
        "BOT_FILE_STORE",
        "BOT_DATA_KEY",
    }


def test_platform_status_names_the_variables_that_turn_a_platform_on() -> None:
    off = Settings(_env_file=None).platform_status()
    assert "SLACK_BOT_TOKEN" in off[0] and "SLACK_SIGNING_SECRET" in off[0]
    assert "local mode" in off[1] and "TEAMS_APP_ID" in off[1]
    on = Settings(
        _env_file=None, SLACK_BOT_TOKEN="x", SLACK_SIGNING_SECRET="y", TEAMS_APP_ID="a"
    ).platform_status()
    assert on[0].startswith("Slack: on") and on[1].startswith("Teams: on")
