"""Recurring senders through the wire: a second report naming the same sender, written
differently, is flagged on its card; the earlier reference is shown only behind details;
the register keeps hashes, never the handles."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import select

from bot.storage.repos import cases
from bot.storage.tables import SenderHash
from tests.e2e.test_slack_triage import bot as bot  # the fixture whose pack names managers
from tests.e2e.test_slack_triage import buttons, press
from tests.e2e.test_slack_wire import FULL_REPORT, open_report, shown, submit, text
from tests.support.bot_fixtures import BotClient
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import slash_command_body


async def report_naming(bot: BotClient, fake_slack: FakeSlack, user: str, senders: str) -> None:
    view = await open_report(bot, fake_slack, user=user)
    pages: list[dict[str, Any]] = copy.deepcopy(FULL_REPORT)
    pages[4]["senders"] = text(senders)
    for values in pages:
        view = {**view, **(await submit(bot, view, values, user=user))["view"]}


async def triage_posts(fake_slack: FakeSlack, count: int) -> list[Any]:
    await fake_slack.wait_for("chat.postMessage", count)
    return [c for c in fake_slack.called("chat.postMessage") if c.body["channel"] == "C0TRIAGE"]


async def test_a_sender_named_again_is_flagged(bot: BotClient, fake_slack: FakeSlack) -> None:
    bind = slash_command_body(
        "/staff-safety", user_id="U0ADMIN", text="bind abuse-triage", channel_id="C0TRIAGE"
    )
    await bot.slack(bind)
    await report_naming(bot, fake_slack, "U0FIRST", "@Angry_Bob\n07700 900123")
    [first] = await triage_posts(fake_slack, 2)
    assert "Recurring sender" not in shown(json.dumps(first.body))
    await report_naming(bot, fake_slack, "U0SECOND", "https://x.com/ANGRY_BOB/status/9")
    second = (await triage_posts(fake_slack, 4))[-1]
    card = shown(json.dumps(second.json_arg("blocks")))
    assert "Recurring sender: 1 earlier report names this sender" in card
    async with bot.core.db() as s:
        reports = await cases.list(session=s, kind="abuse_report")
        digests = (await s.scalars(select(SenderHash.digest))).all()
    first_ref = min(r.reference for r in reports)
    assert first_ref not in card, "earlier references only behind View details"
    assert len(digests) == 3 and not any("angry" in d or "7700" in d for d in digests)

    opened = len(fake_slack.called("views.open"))
    await press(bot, "U0MANAGER", buttons(second.json_arg("blocks"))["View details"])
    details = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
    assert first_ref in shown(json.dumps(details))
