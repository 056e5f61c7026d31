"""Reminders with a controllable clock: each fires once, at the right time, to the right
person, inside working hours (unless urgent), and stops when it should."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import REMINDERS
from bot.storage.repos import cases, events, outbox
from tests.e2e.teams_support import eventually_async
from tests.e2e.test_slack_business_case import (
    APPLICANT,
    BOARD_MEMBER,
    MANAGER,
    bind,
    decide,
    submit_whole_case,
)
from tests.e2e.test_slack_triage import buttons, press, submitted_report
from tests.e2e.test_slack_wire import shown
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import action_ts, interaction_body

SATURDAY_10 = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)  # London is on GMT


class Clock:
    def __init__(self) -> None:
        self.now = SATURDAY_10

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, when: dt.datetime) -> None:
        self.now = when


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, clock: Clock
) -> AsyncIterator[BotClient]:
    pack = pack_with_roles(
        triage_manager=["slack:U0MANAGER"],
        board_member=[f"slack:{BOARD_MEMBER}"],
        admin=["slack:U0ADMIN"],
    )
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack, clock=clock) as client:
        yield client


async def fire_at(bot: BotClient, clock: Clock, when: dt.datetime) -> int:
    # What was queued before the jump goes out first, so each check counts only what fired.
    await eventually_async(lambda: all_sent(bot))
    clock.set(when)
    fired: int = await bot.app[REMINDERS].run_once()
    return fired


async def all_sent(bot: BotClient) -> bool:
    async with bot.core.db() as s:
        return await outbox.pending_count(session=s) == 0


def messages_to(fake_slack: FakeSlack, channel: str) -> list[str]:
    return [
        shown(json.dumps(c.json_arg("blocks"), ensure_ascii=False))
        for c in fake_slack.called("chat.postMessage")
        if c.body["channel"] == channel
    ]


async def settle(fake_slack: FakeSlack, method: str, count: int) -> None:
    await fake_slack.wait_for(method, count)


async def message_with(fake_slack: FakeSlack, channel: str, words: str) -> list[str]:
    """Wait (bounded) until a message containing ``words`` reached ``channel``."""
    import asyncio

    for _ in range(250):
        found = [m for m in messages_to(fake_slack, channel) if words in m]
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"no message with {words!r} in {channel}")


async def timeline_events(bot: BotClient, kind: str) -> list[Any]:
    async with bot.core.db() as s:
        [case] = await cases.list(session=s, kind=kind)
        return await events.timeline(session=s, case_id=case.id)


async def test_unacknowledged_then_check_ins_in_working_hours_until_closed(
    bot: BotClient, fake_slack: FakeSlack, clock: Clock
) -> None:
    card = await submitted_report(bot, fake_slack)  # Saturday 10:00
    assert await fire_at(bot, clock, dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)) == 0
    monday_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    assert await fire_at(bot, clock, monday_9 - dt.timedelta(minutes=1)) == 0
    assert await fire_at(bot, clock, monday_9) == 1, "4 hours on, moved to Monday 09:00"
    await message_with(fake_slack, "C0TRIAGE", "Not yet acknowledged")
    assert await fire_at(bot, clock, monday_9 + dt.timedelta(hours=3, minutes=59)) == 0
    assert await fire_at(bot, clock, monday_9 + dt.timedelta(hours=4)) == 1
    escalated = [
        e
        for e in await timeline_events(bot, "abuse_report")
        if e.event == "escalated_unacknowledged"
    ]
    assert (
        len(escalated) == 1 and "pressoffice@nice.org.uk" in escalated[0].detail["forward_by_email"]
    )

    clock.set(dt.datetime(2026, 11, 23, 13, 30, tzinfo=dt.UTC))
    await press(bot, "U0MANAGER", card["Acknowledge"])
    await settle(fake_slack, "chat.update", 1)
    week = dt.datetime(2026, 11, 30, 13, 30, tzinfo=dt.UTC)
    assert await fire_at(bot, clock, week - dt.timedelta(minutes=1)) == 0
    assert await fire_at(bot, clock, week) == 1
    [reminder] = await message_with(fake_slack, "DU0MANAGER", "Keep in touch")
    assert "7 days" in reminder and "Log check-in" in reminder
    assert await fire_at(bot, clock, week + dt.timedelta(days=6)) == 0, "fires once"

    # A logged check-in restarts the interval; closing stops it for good.
    latest = buttons((await fake_slack.wait_for("chat.update", 1))[-1].json_arg("blocks"))
    clock.set(week + dt.timedelta(days=6, hours=1))
    await press(bot, "U0MANAGER", latest["Log check-in"])
    await settle(fake_slack, "chat.update", 2)
    assert await fire_at(bot, clock, week + dt.timedelta(days=7)) == 0, "the old one is gone"
    async with bot.core.db() as s:
        from bot.storage.repos import reminders as reminder_rows

        pending = await reminder_rows.claim_due(
            session=s,
            now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
            worker_id="peek",
            limit=10,
            lease_seconds=0.001,
        )
    assert [r.kind for r in pending] == ["check_in"]
    # Logged on Sunday 6 December at 14:30: seven days on is a Sunday, so Monday 09:00.
    assert pending[0].due_at == dt.datetime(2026, 12, 14, 9, 0, tzinfo=dt.UTC)


async def test_an_urgent_report_reminds_at_once_even_at_the_weekend(
    bot: BotClient, fake_slack: FakeSlack, clock: Clock
) -> None:
    from tests.e2e.test_slack_scenario import report_every_branch

    await report_every_branch(bot, fake_slack)  # safety: yes
    assert await fire_at(bot, clock, SATURDAY_10 + dt.timedelta(hours=4)) == 1
    await message_with(fake_slack, "C0TRIAGE", "Not yet acknowledged")


async def test_support_reminder_then_weekly_monitoring_and_review(
    bot: BotClient, fake_slack: FakeSlack, clock: Clock
) -> None:
    await bind(bot, "board", "C0BOARD")
    await submit_whole_case(bot, fake_slack)  # Saturday: due Tuesday 10:00 -> in hours
    tuesday = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    assert await fire_at(bot, clock, tuesday - dt.timedelta(minutes=1)) == 0
    assert await fire_at(bot, clock, tuesday) == 1
    await message_with(fake_slack, f"D{APPLICANT}", "still waiting")
    await fake_slack.wait_for("chat.postMessage", 3)  # the first ask, the ask again, the word
    assert len(messages_to(fake_slack, f"D{MANAGER}")) == 2, "asked again"

    request = buttons(fake_slack.called("chat.postMessage")[0].json_arg("blocks"))
    await press(bot, MANAGER, request["I am aware of and support this application"])
    # The press is acknowledged before it is processed: the board's card shows it was.
    board = next(
        c
        for c in await fake_slack.wait_for("chat.postMessage", 4)
        if c.body["channel"] == "C0BOARD"
    )
    assert await fire_at(bot, clock, tuesday + dt.timedelta(days=3)) == 0, "support stops it"
    clock.set(tuesday + dt.timedelta(days=1))
    await decide(
        bot,
        fake_slack,
        buttons(board.json_arg("blocks"))["Approve"],
        {
            "comments": {"type": "plain_text_input", "value": "Yes"},
            "name_or_url": {"type": "plain_text_input", "value": "NES Trainees on X"},
        },
    )
    week = tuesday + dt.timedelta(days=8)
    assert await fire_at(bot, clock, week) == 1
    checks = [
        c
        for c in await fake_slack.wait_for("chat.postMessage", 6)
        if c.body["channel"] == f"D{APPLICANT}" and "Weekly check" in json.dumps(c.body)
    ]
    assert len(checks) == 1 and "NES Trainees on X" in shown(json.dumps(checks[0].body))
    updates = len(fake_slack.called("chat.update"))
    checked = buttons(checks[0].json_arg("blocks"))["Checked"]
    payload = {
        "type": "block_actions",
        "user": {"id": APPLICANT, "name": "applicant"},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "trigger_id": "t",
        "channel": {"id": f"D{APPLICANT}"},
        "container": {
            "type": "message",
            "channel_id": f"D{APPLICANT}",
            "message_ts": "1700000000.000009",
        },
        "actions": [
            {
                "action_id": "a",
                "block_id": "b",
                "type": "button",
                "value": checked,
                "action_ts": action_ts(),
            }
        ],
    }
    assert (await bot.slack(interaction_body(payload))).status == 200
    [*_, thanked] = await fake_slack.wait_for("chat.update", updates + 1)
    assert "Logged" in shown(json.dumps(thanked.body)), "the reminder updates in place"
    assert any(e.event == "presence_checked" for e in await timeline_events(bot, "business_case"))
    assert await fire_at(bot, clock, week + dt.timedelta(days=7)) == 1, "weekly"
    assert await fire_at(bot, clock, dt.datetime(2028, 11, 28, 12, tzinfo=dt.UTC)) >= 1
    await message_with(fake_slack, f"D{APPLICANT}", "due for review")
