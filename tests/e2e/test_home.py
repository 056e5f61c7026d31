"""Home screens by role, and the reply helper on Teams, rendered within platform limits."""

from __future__ import annotations

import json

from slack_sdk.models.views import View

from bot.model import Actor, Platform
from bot.policy import load_default_pack
from bot.storage.repos import cases
from tests.e2e.test_slack_events import home_opened
from tests.e2e.test_slack_triage import bot as bot  # managers U0MANAGER, U0OTHERMGR
from tests.e2e.test_slack_triage import submitted_report
from tests.e2e.test_slack_wire import shown
from tests.renderers.support import validate_adaptive
from tests.renderers.test_blockkit_render import assert_within_limits
from tests.support.bot_fixtures import BotClient
from tests.support.fake_connector import FakeConnector, message_activity
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import signed_headers


async def open_home(bot: BotClient, fake_slack: FakeSlack, user: str, n: int) -> str:
    body = json.loads(home_opened(f"Ev-home-{n}"))
    body["event"]["user"] = user
    raw = json.dumps(body)
    await bot.slack(raw, headers=signed_headers(raw, content_type="application/json"))
    view = (await fake_slack.wait_for("views.publish", n))[-1].json_arg("view")
    assert view["type"] == "home"
    assert_within_limits(view["blocks"], 100)
    View(**view).validate_json()
    return shown(json.dumps(view, ensure_ascii=False))


async def test_the_reporter_sees_their_report_and_a_manager_the_queue(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    await submitted_report(bot, fake_slack)
    mine = await open_home(bot, fake_slack, "U0REPORTER", 1)
    assert "Your reports and cases" in mine and "AB-2026-0001" in mine and "New" in mine
    assert "The open queue" not in mine, "a reporter sees no queue"
    queue = await open_home(bot, fake_slack, "U0MANAGER", 2)
    assert "The open queue" in queue and "Not yet acknowledged" in queue
    assert "AB-2026-0001" in queue
    assert "The register" not in queue
    async with bot.core.db.begin() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
        await cases.update(
            session=s,
            case_id=report.id,
            expected_version=report.version,
            state="acknowledged",
            assignee=Actor(Platform.SLACK, "U0OTHERMGR"),
        )
    assigned = await open_home(bot, fake_slack, "U0OTHERMGR", 3)
    assert "Assigned to you\\nAB-2026-0001" in assigned, "the field shows the assigned report"


async def test_teams_home_and_replies_are_valid_cards(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    for command in ("home", "replies"):
        activity = message_activity(command, service_url=fake_connector.service_url)
        assert (await bot.teams(activity)).status in (200, 201)
        card = fake_connector.sent[-1].card
        assert card is not None
        validate_adaptive(card)
    replies = json.dumps(fake_connector.sent[-1].card, ensure_ascii=False)
    line_c = load_default_pack().replies.situations[1].replies[-1]
    assert f"{line_c.characters} characters" in replies
