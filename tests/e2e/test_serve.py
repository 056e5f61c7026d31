"""``python -m bot serve`` as an operator runs it: migrations, status lines, /healthz."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "TEAMS_APP_ID",
    "TEAMS_APP_PASSWORD",
    "TEAMS_TENANT_ID",
    "DATABASE_URL",
    "BOT_POLICY_PACK",
    "BOT_FILE_STORE",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_no_credentials_starts_and_says_what_is_off(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, status = time.monotonic() + 20, 0
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    status = r.status
            except OSError:
                time.sleep(0.1)
        assert status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as ready:
            assert ready.status == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "Slack: off. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in output
    assert "Teams: local mode" in output
    assert (tmp_path / "data" / "bot.db").exists(), "the embedded default is SQLite in ./data/"
    # One access line a request: no second date after the log's own, and the seconds it took.
    assert re.search(
        r'aiohttp\.access: 127\.0\.0\.1 "GET /healthz HTTP/1\.1" 200 \d+ \d+\.\d+\n', output
    )


def test_socket_mode_app_builds_outside_an_event_loop(tmp_path: Path) -> None:
    """``create_app`` runs before the loop starts: Socket Mode must connect at startup."""
    from bot.app import create_app
    from tests.support.bot_fixtures import make_settings

    settings = make_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_APP_TOKEN="xapp-x",
        BOT_FILE_STORE=str(tmp_path / "files"),
    )
    app = create_app(settings)
    assert settings.socket_mode and app.on_startup


def test_start_up_is_kept_out_of_the_collector_and_its_garbage_is_not() -> None:
    """``serve`` freezes what start-up built, so full collections stop walking it."""
    import gc
    import weakref

    from bot.__main__ import _keep_start_up_out_of_the_collector

    class Cycle:
        me: object

    garbage = Cycle()
    garbage.me = garbage
    gone = weakref.ref(garbage)
    del garbage
    try:
        _keep_start_up_out_of_the_collector()
        assert gone() is None, "garbage made before the freeze was collected, not kept"
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
