"""The /social-case scenario on Slack, through the wire: from nothing to an approved,
registered presence, with a stop and resume, support, changes with the diff shown, and a
reject path; presses by people not allowed are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.policy import load_default_pack
from bot.storage.repos import cases, events, presences
from tests.e2e.test_slack_scenario import check_every_call
from tests.e2e.test_slack_triage import buttons, form_submit, press
from tests.e2e.test_slack_wire import shown
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import interaction_body, slash_command_body

APPLICANT, MANAGER, BOARD_MEMBER = "U0APPLICANT", "U0LM", "U0BOARD"


@pytest.fixture
async def bot(sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[BotClient]:
    pack = pack_with_roles(board_member=[f"slack:{BOARD_MEMBER}"], admin=["slack:U0ADMIN"])
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack) as client:
        yield client


def fill(view: dict[str, Any], overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Answer every input of a modal page: sensible defaults, with ``overrides`` by id."""
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        given = overrides.get(block_id)
        kind = element["type"]
        if kind in ("radio_buttons", "static_select"):
            choice = given or element["options"][0]["value"]
            values[block_id] = {"type": kind, "selected_option": {"value": choice}}
        elif kind == "checkboxes":
            values[block_id] = {
                "type": kind,
                "selected_options": [{"value": element["options"][0]["value"]}],
            }
        elif kind == "users_select":
            values[block_id] = {"type": kind, "selected_user": given or MANAGER}
        else:
            initial = element.get("initial_value", "")
            values[block_id] = {"type": kind, "value": given or initial or f"About {block_id}"}
    return values


async def submit_page(
    bot: BotClient, view: dict[str, Any], overrides: dict[str, Any], user: str = APPLICANT
) -> dict[str, Any]:
    payload = {
        "type": "view_submission",
        "user": {"id": user, "name": "applicant"},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "view": {
            **view,
            "id": "V1",
            "hash": "h",
            "state": {"values": {k: {k: v} for k, v in fill(view, overrides).items()}},
        },
    }
    response = await bot.slack(interaction_body(payload))
    body = await response.json()
    assert body["response_action"] == "update", body
    return {**view, **body["view"]}


async def open_case(bot: BotClient, fake_slack: FakeSlack) -> dict[str, Any]:
    before = len(fake_slack.called("views.open"))
    await bot.slack(slash_command_body("/social-case", user_id=APPLICANT))
    view: dict[str, Any] = (await fake_slack.wait_for("views.open", before + 1))[-1].json_arg(
        "view"
    )
    return view


async def bind(bot: BotClient, purpose: str, channel: str) -> None:
    response = await bot.slack(
        slash_command_body(
            "/staff-safety", user_id="U0ADMIN", text=f"bind {purpose}", channel_id=channel
        )
    )
    assert "Done" in await response.text()


async def submit_whole_case(bot: BotClient, fake_slack: FakeSlack) -> dict[str, Any]:
    """Checklist with a "no" and a "not sure", then stop after questions 1 to 6 and resume."""
    pack = load_default_pack()
    points = [p.id for p in pack.business_case.checklist]
    view = await open_case(bot, fake_slack)
    view = await submit_page(
        bot, view, {f"check_{points[0]}": "no", f"check_{points[1]}": "not_sure"}
    )
    view = await submit_page(
        bot, view, {"email": "applicant@example.org", "name": "Ann Applicant", "purpose": "ignored"}
    )
    view = await submit_page(bot, view, {"purpose": "To reach trainees where they already are"})
    resumed = await open_case(bot, fake_slack)  # the person closed the modal days later
    assert "Welcome back" in shown(json.dumps(resumed["blocks"]))
    inputs = [b["block_id"] for b in resumed["blocks"] if b["type"] == "input"]
    assert inputs[0] == "risk_management", "resumed on questions 7 to 12"
    view = await submit_page(bot, resumed, {"risk_management": "Weekly moderation rota"})
    return await submit_page(bot, view, {})


async def the_case(bot: BotClient) -> Any:
    async with bot.core.db() as s:
        [case] = await cases.list(session=s, kind="business_case")
    return case


async def supported(bot: BotClient, fake_slack: FakeSlack) -> dict[str, str]:
    """Submit, then the line manager supports it; return the board card's buttons."""
    await bind(bot, "board", "C0BOARD")
    await bind(bot, "corporate-communications", "C0COMMS")
    receipt = await submit_whole_case(bot, fake_slack)
    case = await the_case(bot)
    assert case.reference in shown(json.dumps(receipt)) and case.state == "awaiting_support"
    request = next(
        c
        for c in await fake_slack.wait_for("chat.postMessage")
        if c.body["channel"] == f"D{MANAGER}"
    )
    support = buttons(request.json_arg("blocks"))
    await press(bot, "U0STRANGER", support["I am aware of and support this application"])
    await press(bot, MANAGER, support["I am aware of and support this application"])
    posts = await fake_slack.wait_for("chat.postMessage", 3)
    board = next(c for c in posts if c.body["channel"] == "C0BOARD")
    copy = next(c for c in posts if c.body["channel"] == "C0COMMS")
    card = shown(json.dumps(board.json_arg("blocks"), ensure_ascii=False))
    assert "No:" in card and "Not sure:" in card, "concerns highlighted"
    assert "Supported by" in card and "To reach trainees" in card
    assert list(buttons(copy.json_arg("blocks"))) == ["View full case"]
    assert (await the_case(bot)).state == "under_review"
    return buttons(board.json_arg("blocks"))


async def latest_board_update(fake_slack: FakeSlack, words: str) -> Any:
    """The newest update of the board's card once it shows ``words`` (bounded wait)."""
    for _ in range(250):
        updates = [c for c in fake_slack.called("chat.update") if c.body["channel"] == "C0BOARD"]
        if updates and words in shown(json.dumps(updates[-1].json_arg("blocks"))):
            return updates[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the board's card never showed {words!r}")


async def decide(bot: BotClient, fake_slack: FakeSlack, value: str, form: dict[str, Any]) -> None:
    opened = len(fake_slack.called("views.open"))
    await press(bot, BOARD_MEMBER, value)
    view = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
    answer = await form_submit(bot, BOARD_MEMBER, view, form)
    assert answer.get("response_action") is None, answer


async def test_from_nothing_to_an_approved_registered_presence(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    board = await supported(bot, fake_slack)
    [refused] = await fake_slack.wait_for("chat.postEphemeral")
    assert refused.body["user"] == "U0STRANGER"
    await press(bot, MANAGER, board["Approve"])  # a line manager is not the board
    assert len(await fake_slack.wait_for("chat.postEphemeral", 2)) == 2

    await decide(
        bot,
        fake_slack,
        board["Request changes"],
        {"comments": {"type": "plain_text_input", "value": "Say who covers weekends"}},
    )
    assert (await the_case(bot)).state == "changes_requested"
    notice = next(
        c
        for c in await fake_slack.wait_for("chat.postMessage", 4)
        if c.body["channel"] == f"D{APPLICANT}"
    )
    assert "Say who covers weekends" in shown(json.dumps(notice.json_arg("blocks")))
    opened = len(fake_slack.called("views.open"))
    await press(bot, APPLICANT, buttons(notice.json_arg("blocks"))["Edit and resubmit"])
    view = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
    for overrides in ({}, {}, {}, {"risk_management": "Weekend cover by the web team"}, {}):
        view = await submit_page(bot, view, overrides)
    assert "sent to the board" in shown(json.dumps(view))

    # Wait for the board card's content, not a count of updates: two updates of one card
    # due together are delivered as the newest only.
    board_update = await latest_board_update(fake_slack, "What changed")
    card = shown(json.dumps(board_update.json_arg("blocks"), ensure_ascii=False))
    assert "What changed" in card and "Weekly moderation rota" in card
    assert "Weekend cover by the web team" in card
    board = buttons(board_update.json_arg("blocks"))
    await decide(
        bot,
        fake_slack,
        board["Approve"],
        {
            "comments": {"type": "plain_text_input", "value": "Approved for two years"},
            "name_or_url": {"type": "plain_text_input", "value": "https://x.com/nes_trainees"},
        },
    )
    case = await the_case(bot)
    assert case.state == "approved"
    async with bot.core.db() as s:
        versions = await cases.list_versions(session=s, case_id=case.id)
        timeline = await events.timeline(session=s, case_id=case.id)
        entry = await presences.for_case(session=s, case_id=case.id)
    assert len(versions) == 2
    assert versions[0].data["risk_management"] == "Weekly moderation rota"
    approval = next(e for e in timeline if e.event == "approve")
    assert approval.actor_key == f"slack:{BOARD_MEMBER}" and approval.at is not None
    assert entry is not None and entry.name_or_url == "https://x.com/nes_trainees"
    assert entry.review_at.year == entry.approved_at.year + 2
    assert entry.owner_key == f"slack:{APPLICANT}"
    check_every_call(fake_slack)


async def test_a_rejected_case_tells_the_applicant_why(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    board = await supported(bot, fake_slack)
    opened = len(fake_slack.called("views.open"))
    await press(bot, BOARD_MEMBER, board["Reject"])
    view = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
    refused = await form_submit(
        bot, BOARD_MEMBER, view, {"comments": {"type": "plain_text_input", "value": ""}}
    )
    assert refused["response_action"] == "errors" and "comments" in refused["errors"]
    await form_submit(
        bot,
        BOARD_MEMBER,
        view,
        {"comments": {"type": "plain_text_input", "value": "Use the Knowledge Network instead"}},
    )
    assert (await the_case(bot)).state == "rejected"
    await fake_slack.wait_for("chat.postMessage", 4)
    notices = [
        shown(json.dumps(c.json_arg("blocks")))
        for c in fake_slack.called("chat.postMessage")
        if c.body["channel"] == f"D{APPLICANT}"
    ]
    assert any("Use the Knowledge Network instead" in n for n in notices)
    check_every_call(fake_slack)
