"""Triage on Slack through the wire: binding, the card, presses, forms, races, refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage.repos import cases, events
from tests.e2e.test_slack_wire import FULL_REPORT, open_report, shown, submit
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import interaction_body, press_body, slash_command_body

MANAGERS = ("U0MANAGER", "U0OTHERMGR")


@pytest.fixture
async def bot(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotClient]:
    pack = pack_with_roles(triage_manager=[f"slack:{m}" for m in MANAGERS], admin=["slack:U0ADMIN"])
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack) as client:
        yield client


def buttons(call_blocks: Any) -> dict[str, str]:
    blocks = json.loads(call_blocks) if isinstance(call_blocks, str) else call_blocks
    found = {}
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            found[element["text"]["text"]] = element.get("value", "")
    return found


async def press(bot: BotClient, user: str, value: str) -> None:
    response = await bot.slack(press_body(user, value))
    assert response.status == 200


async def form_submit(
    bot: BotClient, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    state = {"values": {k: {k: v} for k, v in values.items()}}
    payload = {
        "type": "view_submission",
        "user": {"id": user, "name": user.lower()},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "view": {**view, "id": "V9", "hash": "h", "state": state},
    }
    response = await bot.slack(interaction_body(payload))
    assert response.status == 200
    text = await response.text()
    return json.loads(text) if text else {}


async def submitted_report(bot: BotClient, fake_slack: FakeSlack) -> dict[str, str]:
    bind = await bot.slack(
        slash_command_body(
            "/staff-safety", user_id="U0ADMIN", text="bind abuse-triage", channel_id="C0TRIAGE"
        )
    )
    assert "Done" in await bind.text()
    view = await open_report(bot, fake_slack)
    for values in FULL_REPORT:
        view = {**view, **(await submit(bot, view, values))["view"]}
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    triage = next(c for c in posts if c.body["channel"] == "C0TRIAGE")
    return buttons(triage.body["blocks"])


async def latest_card(fake_slack: FakeSlack, count: int) -> dict[str, str]:
    updates = await fake_slack.wait_for("chat.update", count)
    return buttons(updates[-1].body["blocks"])


async def test_a_report_reaches_the_triage_channel_and_the_line_manager(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    card = await submitted_report(bot, fake_slack)
    assert list(card) == ["Acknowledge", "View details"]
    [opened] = fake_slack.called("conversations.open")
    assert opened.body["users"] == "U0MANAGER"
    triage = next(
        c for c in fake_slack.called("chat.postMessage") if c.body["channel"] == "C0TRIAGE"
    )
    assert "<!channel>" not in json.dumps(triage.body), "the description stays behind details"


async def test_presses_in_a_legal_order_update_the_card_and_tell_the_reporter(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    card = await submitted_report(bot, fake_slack)
    await press(bot, "U0MANAGER", card["Acknowledge"])
    card = await latest_card(fake_slack, 1)
    assert "Escalate" in card and "Close" not in card
    await press(bot, "U0MANAGER", card["Escalate"])
    form = (await fake_slack.wait_for("views.open", 2))[-1].json_arg("view")
    refused = await form_submit(
        bot,
        "U0MANAGER",
        form,
        {"target": {"type": "static_select", "selected_option": {"value": "police"}}},
    )
    assert refused["response_action"] == "errors"
    accepted = await form_submit(
        bot,
        "U0MANAGER",
        form,
        {
            "target": {"type": "static_select", "selected_option": {"value": "police"}},
            "police.number": {
                "type": "radio_buttons",
                "selected_option": {"value": "non_emergency_101"},
            },
            "police.police_reference": {"type": "plain_text_input", "value": "CAD-1234"},
        },
    )
    assert accepted.get("response_action") is None, accepted
    card = await latest_card(fake_slack, 2)
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
        timeline = await events.timeline(session=s, case_id=report.id)
    assert report.state == "escalated"
    assert [e.event for e in timeline] == ["submitted", "routed", "acknowledge", "escalate"]
    assert timeline[-1].detail["police.police_reference"] == "CAD-1234"
    await fake_slack.wait_for("chat.postMessage", 4)
    notices = [
        c for c in fake_slack.called("chat.postMessage") if c.body["channel"] == "DU0REPORTER"
    ]
    texts = " ".join(shown(json.dumps(c.body["blocks"])) for c in notices)
    assert "picked up" in texts and "police" in texts


async def test_a_stranger_is_refused_politely(bot: BotClient, fake_slack: FakeSlack) -> None:
    card = await submitted_report(bot, fake_slack)
    await press(bot, "U0STRANGER", card["Acknowledge"])
    [ephemeral] = await fake_slack.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == "U0STRANGER" and "not able" in ephemeral.body["text"]
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
    assert report.state == "new"


async def test_two_managers_pressing_at_once_make_one_transition(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    card = await submitted_report(bot, fake_slack)
    await asyncio.gather(*(press(bot, user, card["Acknowledge"]) for user in MANAGERS))
    [loser] = await fake_slack.wait_for("chat.postEphemeral")
    assert "already did this first" in loser.body["text"]
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
        timeline = await events.timeline(session=s, case_id=report.id)
    assert [e.event for e in timeline] == ["submitted", "routed", "acknowledge"]
