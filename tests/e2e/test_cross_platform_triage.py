"""A report made on Slack reaches a Teams triage channel too; a press on Teams updates both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.repos import cases
from tests.e2e.test_slack_triage import buttons, submitted_report
from tests.e2e.test_teams_wire import execute_actions
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_connector import FakeConnector, card_action_activity, message_activity
from tests.support.fake_slack import FakeSlack

TEAMS_CHANNEL = "19:triage@thread.tacv2"
MANAGER_ID = "0b5c3e55-1111-4222-8333-000000000001"
ADMIN_ID = "0b5c3e55-1111-4222-8333-000000000002"


@pytest.fixture
async def bot(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotClient]:
    pack = pack_with_roles(
        triage_manager=["slack:U0MANAGER", f"teams:{MANAGER_ID}"],
        admin=["slack:U0ADMIN", f"teams:{ADMIN_ID}"],
    )
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack) as client:
        yield client


async def test_the_card_is_in_both_channels_and_a_teams_press_updates_both(
    bot: BotClient, fake_slack: FakeSlack, fake_connector: FakeConnector
) -> None:
    bind = message_activity(
        "<at>Staff Safety</at> bind abuse-triage",
        service_url=fake_connector.service_url,
        aad_object_id=ADMIN_ID,
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
        aad_object_id=MANAGER_ID,
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
