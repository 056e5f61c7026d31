"""The /report-abuse scenario on Slack, through the wire, from the report to closed and back.

One report takes every branch (urgent, organisational account, protected characteristic,
three evidence files, hostile text); a manager presses every button in a legal order; an
illegal press, a stranger's press and simultaneous presses are refused as they should be.
Every message and view the bot sends is checked against Block Kit's limits and slack-sdk's
own validation, and hostile user text is checked to arrive inert.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_sdk.models.views import View

from bot.actions import ActionName, ActionRef
from bot.storage.repos import cases, events
from bot.storage.repos import files as stored_files
from tests.e2e.test_slack_triage import bot as bot  # the fixture whose pack names managers
from tests.e2e.test_slack_triage import buttons, form_submit, press
from tests.e2e.test_slack_wire import input_ids, open_report, radio, shown, submit, text
from tests.renderers.test_blockkit_render import (
    assert_safe,
    assert_within_limits,
    validate_with_sdk,
)
from tests.support.bot_fixtures import BotClient
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import slash_command_body

HOSTILE = "<!channel> @here <@U123> [x](http://evil.example) <b>html</b> *bold*"


def check_every_call(fake_slack: FakeSlack) -> None:
    """Every message and modal the bot sent is valid Block Kit, within limits, and inert."""
    for call in fake_slack.calls:
        if call.method in ("chat.postMessage", "chat.update"):
            blocks = call.json_arg("blocks")
            assert_within_limits(blocks, 50)
            validate_with_sdk(blocks)
            assert_safe({"blocks": blocks})
        if call.method in ("views.open", "views.update", "views.push", "views.publish"):
            view = call.json_arg("view")
            assert_within_limits(view["blocks"], 100)
            View(**view).validate_json()
        raw = json.dumps(call.body)
        assert "<!channel>" not in raw and "<@U123>" not in raw


async def report_every_branch(bot: BotClient, fake_slack: FakeSlack) -> dict[str, Any]:
    """Walk the whole report, taking every branch, and return the receipt view."""
    bind = slash_command_body(
        "/staff-safety", user_id="U0ADMIN", text="bind abuse-triage", channel_id="C0TRIAGE"
    )
    assert "Done" in await (await bot.slack(bind)).text()
    view = await open_report(bot, fake_slack)
    pages: list[dict[str, dict[str, Any]]] = [
        {"safety": radio("yes")},
        {},
        {"reporter_role": radio("staff"), "directorate": text("Evidence")},
        {"line_manager": {"type": "users_select", "selected_user": "U0MANAGER"}},
        {"account_kind": radio("organisational"), "channel": radio("social_media")},
        {
            "platform": {"type": "static_select", "selected_option": {"value": "twitter_x"}},
            "kind": radio("threat"),
            "started_on": {"type": "datepicker", "selected_date": "2026-11-01"},
            "ongoing": radio("yes"),
            "senders": text(HOSTILE),
            "links": text(HOSTILE),
            "description": text(HOSTILE),
            "work_item": text("Guidance 42"),
            "contentious": radio("yes"),
        },
    ]
    for values in pages:
        body = await submit(bot, view, values)
        assert body["response_action"] == "update", body
        view = {**view, **body["view"]}
        if "safety" in values:
            assert "999" in json.dumps(body["view"]), "police advice at once"
        if "account_kind" in values:
            assert "Block" in shown(json.dumps(body["view"])), "Annex A steps shown"
    files = [
        fake_slack.add_file(f"F{i}", f"shot{i}.png", f"png-{i}".encode(), "image/png")
        for i in range(3)
    ]
    await submit(bot, view, {"evidence": {"type": "file_input", "files": files}})
    view = {**view, **(await fake_slack.wait_for("views.update"))[-1].json_arg("view")}
    assert input_ids(view) == ["protected_characteristics", "details_exposed", "replied"]
    sensitivities = {
        "protected_characteristics": {
            "type": "checkboxes",
            "selected_options": [{"value": "race_or_nationality"}],
        },
        "details_exposed": radio("yes"),
        "replied": radio("no"),
    }
    view = {**view, **(await submit(bot, view, sensitivities))["view"]}
    receipt = await submit(
        bot, view, {"review": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}}
    )
    return receipt["view"]


async def the_report(bot: BotClient) -> Any:
    async with bot.core.db() as s:
        [report] = await cases.list(session=s, kind="abuse_report")
    return report


async def test_a_report_with_every_branch_is_stored_routed_and_acknowledged(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    receipt = await report_every_branch(bot, fake_slack)
    report = await the_report(bot)
    shown_receipt = shown(json.dumps(receipt, ensure_ascii=False))
    assert report.reference in shown_receipt and "999" in shown_receipt
    assert "line manager" in shown_receipt.lower()
    assert "equality and diversity" in shown_receipt.lower()
    assert "x.com" in shown_receipt or "twitter" in shown_receipt.lower(), "platform's report page"
    assert report.urgent and report.data["description"] == HOSTILE
    async with bot.core.db() as s:
        evidence = await stored_files.list_for_case(session=s, case_id=report.id)
        timeline = await events.timeline(session=s, case_id=report.id)
    assert len(evidence) == 3
    routed = next(e for e in timeline if e.event == "routed")
    assert "pressoffice@nice.org.uk" in routed.detail["forward_by_email"]
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    triage = next(c for c in posts if c.body["channel"] == "C0TRIAGE")
    card = shown(json.dumps(triage.json_arg("blocks"), ensure_ascii=False))
    assert "Urgent" in card and "Evidence files" in card and report.reference in card
    assert "Protected characteristic" in card
    check_every_call(fake_slack)


async def test_every_button_in_a_legal_order_then_illegal_and_stale_presses(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    await report_every_branch(bot, fake_slack)
    triage = next(
        c
        for c in await fake_slack.wait_for("chat.postMessage", 2)
        if c.body["channel"] == "C0TRIAGE"
    )
    card = buttons(triage.json_arg("blocks"))
    updates = 0

    async def pressed(label: str, form: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
        nonlocal updates
        opened = len(fake_slack.called("views.open"))
        await press(bot, "U0MANAGER", card[label])
        if form is not None:
            view = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
            answer = await form_submit(bot, "U0MANAGER", view, form)
            assert answer.get("response_action") is None, answer
        updates += 1
        latest = await fake_slack.wait_for("chat.update", updates)
        return buttons(latest[-1].json_arg("blocks"))

    card = await pressed("Acknowledge")
    card = await pressed(
        "Escalate",
        {
            "target": {"type": "static_select", "selected_option": {"value": "police"}},
            "police.number": {
                "type": "radio_buttons",
                "selected_option": {"value": "emergency_999"},
            },
            "police.police_reference": {"type": "plain_text_input", "value": "CAD-99"},
        },
    )
    card = await pressed(
        "Record action",
        {"actions": {"type": "checkboxes", "selected_options": [{"value": "screenshot_filed"}]}},
    )
    card = await pressed(
        "Assign", {"assignee": {"type": "users_select", "selected_user": "U0OTHERMGR"}}
    )
    card = await pressed("Log check-in")
    closed_card = await pressed(
        "Close",
        {
            "outcome": {"type": "plain_text_input", "value": "Account suspended by the platform"},
            "lessons_learned": {"type": "plain_text_input", "value": "Brief committees earlier"},
        },
    )
    assert list(closed_card) == ["Reopen", "View details"]
    stale_record = card["Record action"]
    card = closed_card
    card = await pressed("Reopen")
    report = await the_report(bot)
    assert report.state == "in_progress" and report.assignee_key == "slack:U0OTHERMGR"
    async with bot.core.db() as s:
        timeline = await events.timeline(session=s, case_id=report.id)
    assert [e.event for e in timeline] == [
        "submitted",
        "routed",
        "acknowledge",
        "escalate",
        "record_action",
        "assign",
        "check_in",
        "close",
        "reopen",
    ]
    assert timeline[-2].detail["outcome"] == "Account suspended by the platform"

    illegal = ActionRef(ActionName.CASE_REOPEN, report.id, report.version).encode()
    await press(bot, "U0MANAGER", illegal)
    await press(bot, "U0MANAGER", stale_record)
    ephemerals = await fake_slack.wait_for("chat.postEphemeral", 2)
    assert "cannot be done" in ephemerals[0].body["text"]
    assert "already did this first" in ephemerals[1].body["text"]
    assert (await the_report(bot)).version == report.version, "nothing changed"

    await asyncio.sleep(0.5)  # let the delivery loop send the reporter's notices
    notices = [
        shown(json.dumps(c.json_arg("blocks")))
        for c in fake_slack.called("chat.postMessage")
        if c.body["channel"] == "DU0REPORTER"
    ]
    assert len(notices) == 3, notices
    assert "picked up" in notices[0] and "police" in notices[1] and "closed" in notices[2]
    assert not any("screenshot" in n or "Brief committees" in n for n in notices)
    check_every_call(fake_slack)


async def test_view_details_only_for_those_allowed(bot: BotClient, fake_slack: FakeSlack) -> None:
    await report_every_branch(bot, fake_slack)
    triage = next(
        c
        for c in await fake_slack.wait_for("chat.postMessage", 2)
        if c.body["channel"] == "C0TRIAGE"
    )
    details = buttons(triage.json_arg("blocks"))["View details"]
    opened = len(fake_slack.called("views.open"))
    await press(bot, "U0MANAGER", details)
    modal = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
    content = shown(json.dumps(modal, ensure_ascii=False))
    assert "shot0.png" in content and "Guidance 42" in content
    await press(bot, "U0STRANGER", details)
    [refused] = await fake_slack.wait_for("chat.postEphemeral")
    assert refused.body["user"] == "U0STRANGER" and "not able" in refused.body["text"]
    check_every_call(fake_slack)
