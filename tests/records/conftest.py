"""Fixtures for the records tests: the served bot with managers, a board and an admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.test_slack_business_case import BOARD_MEMBER
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack


def records_pack() -> object:
    """The default pack with a triage manager, a board member and an administrator."""
    return pack_with_roles(
        triage_manager=["slack:U0MANAGER"],
        board_member=[f"slack:{BOARD_MEMBER}"],
        admin=["slack:U0ADMIN"],
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Where the ``sqlite_url`` fixture's database file is."""
    return tmp_path / "bot.db"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The file store's root, as ``slack_settings`` sets it."""
    return tmp_path / "files"


@pytest.fixture
async def bot(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotClient]:
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, records_pack()) as client:
        yield client
