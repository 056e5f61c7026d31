"""Fixtures that run the real bot over real HTTP on loopback, against local fakes.

``bot_server`` is ``create_app`` served by aiohttp on a free loopback port, with its Slack
Web API pointed at ``fake_slack`` and its database a migrated SQLite file in ``tmp_path``.
Teams traffic is answered on the ``serviceUrl`` each activity names: ``fake_connector``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import CORE, DELIVERY, create_app
from bot.config import Settings
from bot.storage.migrate import upgrade
from tests.support.fake_connector import FakeConnector, start_fake_connector
from tests.support.fake_slack import BOT_TOKEN, FakeSlack, start_fake_slack
from tests.support.slack_signing import SIGNING_SECRET, signed_headers


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await start_fake_slack()
    yield fake
    assert fake.server is not None
    await fake.server.close()


@pytest.fixture
async def fake_connector() -> AsyncIterator[FakeConnector]:
    fake = await start_fake_connector()
    yield fake
    assert fake.server is not None
    await fake.server.close()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    return url


def make_settings(**values: Any) -> Settings:
    """Settings from the given variables only: the developer's environment is ignored."""
    return Settings(_env_file=None, **values)


@pytest.fixture
def bot_settings(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(
        DATABASE_URL=sqlite_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        BOT_FILE_STORE=str(tmp_path / "files"),
        TEAMS_APP_ID="",
    )


class Wire:
    """Signed Slack requests and Bot Framework activities, posted to a served bot's URL."""

    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        raise NotImplementedError

    async def slack(
        self, body: str, *, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        """POST a signed Slack request to ``/slack/events``."""
        return await self.session.post(
            self.url("/slack/events"), data=body.encode(), headers=headers or signed_headers(body)
        )

    async def teams(
        self, activity: dict[str, Any], *, token: str | None = None
    ) -> aiohttp.ClientResponse:
        """POST a Bot Framework activity to ``/api/messages``."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.session.post(self.url("/api/messages"), json=activity, headers=headers)


class BotClient(Wire):
    """Talks to the served bot the way Slack and the Bot Framework do."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    @property
    def app(self) -> Any:
        return self.server.app

    @property
    def core(self) -> Any:
        return self.server.app[CORE]

    @property
    def delivery(self) -> Any:
        return self.server.app[DELIVERY]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@pytest.fixture
async def bot(bot_settings: Settings) -> AsyncIterator[BotClient]:
    server = TestServer(create_app(bot_settings), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield BotClient(server, session)
    await server.close()


def pack_with_roles(**members: list[str]) -> Any:
    """The default pack with the given role members (``triage_manager=["slack:U1"]``)."""
    from bot.policy import load_default_pack
    from bot.policy.organisation import Role

    pack = load_default_pack()
    roles = dict(pack.roles)
    for role, identities in members.items():
        roles[role] = Role(label=roles[role].label if role in roles else role, members=identities)
    return pack.model_copy(update={"roles": roles})


@contextlib.asynccontextmanager
async def serve_bot(settings: Settings, pack: Any, **options: Any) -> AsyncIterator[BotClient]:
    """The real bot, served on loopback for one test, with a client session."""
    server = TestServer(create_app(settings, pack=pack, **options), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield BotClient(server, session)
    finally:
        await server.close()


def slack_settings(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> Settings:
    """Settings for a bot on SQLite whose Slack Web API is the local fake."""
    return make_settings(
        DATABASE_URL=sqlite_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        BOT_FILE_STORE=str(tmp_path / "files"),
    )
