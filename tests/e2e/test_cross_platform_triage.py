"""A report made on Slack reaches a Teams triage channel too; a press on Teams updates both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.policy import load_default_pack
from bot.policy.organisation import Role
from bot.storage.repos import cases
from tests.e2e.test_slack_triage import buttons, submitted_report
from tests.e2e.test_teams_wire import execute_actions
from tests.support.bot_fixtures import BotClient, make_settings
from tests.support.fake_connector import FakeConnector, card_action_activity, message_activity
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.slack_signing import SIGNING_SECRET

TEAMS_CHANNEL = "19:triage@thread.tacv2"


@pytest.fixture
async def bot(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotClient]:
    pack = load_default_pack()
    roles = dict(pack.roles)
    roles["triage_manager"] = Role(
        label="Triage", members=["slack:U0MANAGER", "teams:0b5c3e55-1111-4222-8333-000000000001"]
    )
    roles["admin"] = Role(
        label="Admin", members=["slack:U0ADMIN", "teams:0b5c3e55-1111-4222-8333-000000000002"]
    )
    settings = make_settings(
        DATABASE_URL=sqlite_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        BOT_FILE_STORE=str(tmp_path / "files"),
    )
    app = create_app(settings, pack=pack.model_copy(update={"roles": roles}))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield BotClient(server, session)
    await server.close()


async def test_the_card_is_in_both_channels_and_a_teams_press_updates_both(
    bot: BotClient, fake_slack: FakeSlack, fake_connector: FakeConnector
) -> None:
    bind = message_activity(
        "<at>Staff Safety</at> bind abuse-triage",
        service_url=fake_connector.service_url,
        aad_object_id="0b5c3e55-1111-4222-8333-000000000002",
        conversation_id=TEAMS_CHANNEL,
        conversation_type="channel",
    )
    assert (await bot.teams(bind)).status in (200, 201)
    assert "Done" in json.dumps(fake_connector.sent[-1].activity)
    await submitted_report(bot, fake_slack)
    for _ in range(100):
        if any(s.operation == "send" for s in fake_connector.to_conversation(TEAMS_CHANNEL)[1:]):
            break
        await __import__("asyncio").sleep(0.02)
    teams_card = fake_connector.to_conversation(TEAMS_CHANNEL)[-1].card
    assert teams_card is not None
    acknowledge = next(a for a in execute_actions(teams_card) if a["title"] == "Acknowledge")
    press = card_action_activity(
        acknowledge["data"],
        service_url=fake_connector.service_url,
        aad_object_id="0b5c3e55-1111-4222-8333-000000000001",
        conversation_id=TEAMS_CHANNEL,
        conversation_type="channel",
    )
    response = await bot.teams(press)
    refreshed = (await response.json())["value"]
    assert "Acknowledged" in json.dumps(refreshed)
    updates = await fake_slack.wait_for("chat.update")
    assert "Escalate" in buttons(updates[-1].body["blocks"])
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
    assert report.state == "acknowledged"
