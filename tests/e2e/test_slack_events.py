"""Slack events and shortcuts: retries processed once, the reply helper, roles by e-mail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage.repos import cases, events
from tests.e2e.test_slack_triage import press, submitted_report
from tests.e2e.test_slack_wire import shown
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import interaction_body, press_body, signed_headers


def home_opened(event_id: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0FAKE",
            "api_app_id": "A0APP",
            "event_id": event_id,
            "event_time": 1700000000,
            "event": {
                "type": "app_home_opened",
                "user": "U0REPORTER",
                "tab": "home",
                "channel": "D0DM",
                "event_ts": "1700000000.1",
            },
        }
    )


async def test_an_events_api_retry_is_processed_once(bot: BotClient, fake_slack: FakeSlack) -> None:
    body = home_opened("Ev0001")
    first = await bot.slack(body, headers=signed_headers(body, content_type="application/json"))
    assert first.status == 200
    await fake_slack.wait_for("views.publish")
    retry_headers = {
        **signed_headers(body, content_type="application/json"),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    retry = await bot.slack(body, headers=retry_headers)
    assert retry.status == 200
    other = home_opened("Ev0002")
    await bot.slack(other, headers=signed_headers(other, content_type="application/json"))
    published = await fake_slack.wait_for("views.publish", 2)
    assert len(published) == 2, "the retry of Ev0001 published nothing"
    home = shown(json.dumps(published[0].json_arg("view")))
    assert "Report abusive contact" in home and published[0].json_arg("view")["type"] == "home"


async def test_suggest_a_reply_shows_annex_a_with_counts(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "suggest_reply",
        "user": {"id": "U0COMMS", "name": "comms"},
        "team": {"id": "T0FAKE"},
        "channel": {"id": "C0SOCIAL"},
        "trigger_id": "t-1",
        "api_app_id": "A0APP",
        "message": {"type": "message", "text": "Your service is useless", "ts": "1.2"},
    }
    response = await bot.slack(interaction_body(payload))
    assert response.status == 200
    [opened] = await fake_slack.wait_for("views.open")
    view = shown(json.dumps(opened.json_arg("view"), ensure_ascii=False))
    assert "We are sorry to hear this and have sent you a PM" in view
    assert "48 characters" in view and "140 characters" in view
    assert "Samaritans" in view


@pytest.fixture
async def bot_by_email(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[BotClient]:
    pack = pack_with_roles(triage_manager=["u0mail@example.org"], admin=["slack:U0ADMIN"])
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack) as client:
        yield client


async def test_a_manager_named_by_email_in_the_pack_may_press(
    bot_by_email: BotClient, fake_slack: FakeSlack
) -> None:
    card = await submitted_report(bot_by_email, fake_slack)
    await press(bot_by_email, "U0MAIL", card["Acknowledge"])
    await fake_slack.wait_for("chat.update")
    async with bot_by_email.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
    assert report.state == "acknowledged"
    assert any(c.body.get("user") == "U0MAIL" for c in fake_slack.called("users.info"))


async def test_a_repeated_press_is_processed_once(
    bot_by_email: BotClient, fake_slack: FakeSlack
) -> None:
    """The same press delivered twice (same ``action_ts``) makes one transition and no
    "someone was first" message to the person who pressed."""
    bot = bot_by_email
    card = await submitted_report(bot, fake_slack)
    body = press_body("U0MAIL", card["Acknowledge"], stamp="1700000000.000777")
    assert (await bot.slack(body)).status == 200
    await fake_slack.wait_for("chat.update", 1)
    assert (await bot.slack(body)).status == 200
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
        timeline = await events.timeline(session=s, case_id=report.id)
    assert report.state == "acknowledged"
    assert [e.event for e in timeline].count("acknowledge") == 1
    assert not fake_slack.called("chat.postEphemeral"), "the repeat told no one anything"


async def test_a_press_that_failed_is_processed_when_delivered_again(
    bot_by_email: BotClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repeat check is part of the press's transaction: a press whose transaction failed
    left no record, so Slack's (or a proxy's) redelivery of it is processed, not dropped."""
    bot = bot_by_email
    card = await submitted_report(bot, fake_slack)
    real_append = events.append
    failures = []

    async def append_failing_once(**kwargs: Any) -> Any:
        if kwargs.get("event") == "acknowledge" and not failures:
            failures.append(kwargs)
            raise RuntimeError("the database went away mid-press")
        return await real_append(**kwargs)

    monkeypatch.setattr(events, "append", append_failing_once)
    body = press_body("U0MAIL", card["Acknowledge"], stamp="1700000000.000888")
    # Not asserted: when a listener fails within bolt's 10 ms ack polling, bolt answers 404.
    await bot.slack(body)
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
    assert failures and report.state == "new", "the failed press changed nothing"
    assert (await bot.slack(body)).status == 200
    await fake_slack.wait_for("chat.update", 1)
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
        timeline = await events.timeline(session=s, case_id=report.id)
    assert report.state == "acknowledged"
    assert [e.event for e in timeline].count("acknowledge") == 1
