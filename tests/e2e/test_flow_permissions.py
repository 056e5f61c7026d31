"""A pack can keep a flow to some roles: others are told so politely, and nothing is stored."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.tables import FlowSession
from tests.support.bot_fixtures import pack_with_roles, serve_bot, slack_settings
from tests.support.fake_connector import FakeConnector, message_activity
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import slash_command_body


def comms_only_pack() -> object:
    """The default pack, with business cases opened only by the communications lead."""
    pack = pack_with_roles(communications_lead=["slack:U0COMMS"])
    permissions = {**pack.permissions, "flow.start.business_case": ["communications_lead"]}
    return pack.model_copy(update={"permissions": permissions})


async def test_a_flow_kept_to_a_role_is_refused_to_others_and_logged(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, comms_only_pack()) as bot:
        with caplog.at_level(logging.INFO, logger="bot"):
            refused = await bot.slack(slash_command_body("/social-case", user_id="U0STAFF"))
            [opened] = await fake_slack.wait_for("views.open", 1)
        assert refused.status == 200
        shown = json.dumps(opened.json_arg("view"))
        assert "has not opened this for you" in shown
        assert "refused flow.start.business_case for slack:U0STAFF" in caplog.text
        async with bot.core.db() as s:
            drafts = await s.scalar(select(func.count()).select_from(FlowSession))
        assert drafts == 0, "a refused start stores no draft"

        allowed = await bot.slack(slash_command_body("/social-case", user_id="U0COMMS"))
        assert allowed.status == 200
        [_, page] = await fake_slack.wait_for("views.open", 2)
        assert "has not opened this for you" not in json.dumps(page.json_arg("view"))
        report = await bot.slack(slash_command_body("/report-abuse", user_id="U0STAFF"))
        assert report.status == 200, "the other flow is still open to everyone"
        [*_, abuse] = await fake_slack.wait_for("views.open", 3)
        assert "has not opened this for you" not in json.dumps(abuse.json_arg("view"))


async def test_a_refused_start_delivered_again_on_teams_is_answered_once(
    sqlite_url: str, fake_slack: FakeSlack, fake_connector: FakeConnector, tmp_path: Path
) -> None:
    """A refusal changes nothing, so its delivery is recorded on its own: the Bot Framework's
    redelivery of the message does not tell the person twice."""
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, comms_only_pack()) as bot:
        activity = message_activity("social case", service_url=fake_connector.service_url)
        for _ in range(2):
            assert (await bot.teams(activity)).status in (200, 201)
    [refusal] = fake_connector.to_conversation("a:personal-chat")
    assert "has not opened this for you" in json.dumps(refusal.card)
