"""Slack through the wire: signed requests into the served bot, calls out to the fake API."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from bot.storage.repos import cases, sessions
from bot.storage.repos import files as stored_files
from tests.support.bot_fixtures import BotClient
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import (
    action_ts,
    interaction_body,
    signed_headers,
    slash_command_body,
)


async def open_report(
    bot: BotClient, fake_slack: FakeSlack, user: str = "U0REPORTER"
) -> dict[str, Any]:
    before = len(fake_slack.called("views.open"))
    response = await bot.slack(slash_command_body("/report-abuse", user_id=user))
    assert response.status == 200
    opened = await fake_slack.wait_for("views.open", before + 1)
    view: dict[str, Any] = opened[-1].json_arg("view")
    return view


def submission(
    view: dict[str, Any], values: dict[str, dict[str, Any]], user: str = "U0REPORTER"
) -> str:
    """A ``view_submission`` for ``view`` with input values in Slack's state shape."""
    state = {"values": {block: {block: element} for block, element in values.items()}}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "user": {"id": user, "name": user.lower(), "team_id": "T0FAKE"},
        "view": {**view, "id": "V1", "hash": "h1", "state": state},
        "trigger_id": "1.2.3",
    }
    return interaction_body(payload)


def radio(value: str) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": {"value": value}}


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


FULL_REPORT: list[dict[str, dict[str, Any]]] = [
    {"safety": radio("no")},
    {"reporter_role": radio("staff"), "directorate": text("Evidence")},
    {"line_manager": {"type": "users_select", "selected_user": "U0MANAGER"}},
    {"account_kind": radio("own"), "channel": radio("email")},
    {
        "kind": radio("threat"),
        "started_on": {"type": "datepicker", "selected_date": "2026-11-01"},
        "ongoing": radio("yes"),
        "senders": text("angry@example.com"),
        "links": text(""),
        "description": text("<!channel> They wrote to me at home."),
        "work_item": text("Guidance 42"),
        "contentious": radio("yes"),
    },
    {"evidence": {"type": "file_input", "files": []}},
    {
        "protected_characteristics": {
            "type": "checkboxes",
            "selected_options": [{"value": "none"}],
        },
        "details_exposed": radio("no"),
        "replied": radio("no"),
    },
    {"review": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
]


async def submit(
    bot: BotClient,
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    user: str = "U0REPORTER",
) -> dict[str, Any]:
    response = await bot.slack(submission(view, values, user))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert isinstance(body, dict)
    return body


def shown(text: str) -> str:
    """Text as a person reads it: the renderer's invisible link breakers removed."""
    return text.replace("\u2060", "").replace("\u200b", "")


def input_ids(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b.get("type") == "input"]


async def test_slash_command_opens_the_report_as_a_modal(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    view = await open_report(bot, fake_slack)
    call = fake_slack.called("views.open")[0]
    assert call.body["trigger_id"] == "1337.42.abcd"
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"
    assert view["type"] == "modal" and view["callback_id"] == "flow"
    assert input_ids(view) == ["safety"], "safety comes before anything else"
    assert len(view["title"]["text"]) <= 24


async def test_bad_signature_is_refused_with_401(bot: BotClient, fake_slack: FakeSlack) -> None:
    body = slash_command_body("/report-abuse")
    headers = signed_headers(body, secret="not-the-secret")
    response = await bot.slack(body, headers=headers)
    assert response.status == 401
    assert fake_slack.called("views.open") == []


async def test_stale_timestamp_is_refused_with_401(bot: BotClient, fake_slack: FakeSlack) -> None:
    body = slash_command_body("/report-abuse")
    response = await bot.slack(body, headers=signed_headers(body, timestamp=int(time.time()) - 600))
    assert response.status == 401
    assert fake_slack.called("views.open") == []


async def test_missing_answer_comes_back_on_the_field(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    view = await open_report(bot, fake_slack)
    body = await submit(bot, view, {"safety": {"type": "radio_buttons", "selected_option": None}})
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"safety"}


async def test_danger_shows_police_advice_at_once(bot: BotClient, fake_slack: FakeSlack) -> None:
    view = await open_report(bot, fake_slack)
    body = await submit(bot, view, {"safety": radio("yes")})
    assert body["response_action"] == "update"
    shown = json.dumps(body["view"]["blocks"])
    assert "999" in shown and "101" in shown


async def test_the_draft_resumes_where_it_stopped(bot: BotClient, fake_slack: FakeSlack) -> None:
    view = await open_report(bot, fake_slack)
    await submit(bot, view, {"safety": radio("no")})
    resumed = await open_report(bot, fake_slack)
    assert input_ids(resumed) == ["reporter_role", "directorate"]
    assert "Welcome back" in json.dumps(resumed["blocks"])


async def test_a_whole_report_is_stored_before_the_receipt(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    view = await open_report(bot, fake_slack)
    pages = FULL_REPORT
    for values in pages:
        body = await submit(bot, view, values)
        assert body["response_action"] == "update", body
        view = {**view, **body["view"]}
    receipt = json.dumps(view["blocks"])
    async with bot.core.db() as s:
        stored = await cases.list(session=s, kind="abuse_report")
    assert len(stored) == 1
    assert stored[0].reference in receipt
    assert stored[0].reference.startswith("AB-")
    assert stored[0].data["description"] == "<!channel> They wrote to me at home."
    assert stored[0].state == "new" and not stored[0].urgent


async def test_unknown_action_is_acknowledged_and_ignored(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "trigger_id": "1.2",
        "actions": [
            {
                "action_id": "x",
                "block_id": "b",
                "type": "button",
                "value": "not-ours",
                "action_ts": action_ts(),
            }
        ],
    }
    response = await bot.slack(interaction_body(payload))
    assert response.status == 200


async def test_health_ready_and_metrics(bot: BotClient) -> None:
    assert (await bot.session.get(bot.url("/healthz"))).status == 200
    ready = await bot.session.get(bot.url("/readyz"))
    assert ready.status == 200 and (await ready.json())["status"] == "ready"
    metrics = await (await bot.session.get(bot.url("/metrics"))).text()
    assert 'bot_http_requests_total{method="GET",route="/healthz",status="200"} 1' in metrics


async def test_slack_sdk_formats_no_debug_line_that_is_not_written(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    # slack-sdk builds a debug line (the whole view) per call unless its logger's own level
    # is above DEBUG; the bot sets the level logging applies anyway (setup.py).
    web_api = logging.getLogger("slack_sdk.web.async_base_client")
    assert not web_api.isEnabledFor(logging.DEBUG)
    assert web_api.level > logging.DEBUG
    await open_report(bot, fake_slack)


async def walk_to_evidence(bot: BotClient, fake_slack: FakeSlack) -> dict[str, Any]:
    view = await open_report(bot, fake_slack)
    for values in FULL_REPORT[:5]:
        body = await submit(bot, view, values)
        view = {**view, **body["view"]}
    assert input_ids(view) == ["evidence"]
    return view


async def test_evidence_files_are_downloaded_with_the_token_and_stored(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    view = await walk_to_evidence(bot, fake_slack)
    files = [
        fake_slack.add_file(f"F{i}", f"shot{i}.png", f"png-bytes-{i}".encode(), "image/png")
        for i in range(3)
    ]
    body = await submit(bot, view, {"evidence": {"type": "file_input", "files": files}})
    assert body["response_action"] == "update" and "Saving" in json.dumps(body["view"])
    [updated] = await fake_slack.wait_for("views.update")
    assert input_ids(updated.json_arg("view")) == [
        "protected_characteristics",
        "details_exposed",
        "replied",
    ]
    async with bot.core.db() as s:
        draft = await sessions.get_open(
            session=s, platform="slack", user_id="U0REPORTER", flow="abuse_report"
        )
        assert draft is not None and len(draft.answers["evidence"]) == 3
        stored = [await stored_files.get(session=s, file_id=i) for i in draft.answers["evidence"]]
    for index, row in enumerate(stored):
        assert row is not None
        content = f"png-bytes-{index}".encode()
        assert row.sha256 == hashlib.sha256(content).hexdigest() and row.size == len(content)
        assert bot.core.files.resolve(row.path).read_bytes() == content


async def test_a_refused_file_is_named_on_the_field(bot: BotClient, fake_slack: FakeSlack) -> None:
    view = await walk_to_evidence(bot, fake_slack)
    files = [
        fake_slack.add_file("F1", "ok.png", b"png", "image/png"),
        fake_slack.add_file("F2", "tool.exe", b"MZ", "application/x-msdownload"),
    ]
    await submit(bot, view, {"evidence": {"type": "file_input", "files": files}})
    [refused] = await fake_slack.wait_for("views.update")
    assert "tool.exe" in shown(json.dumps(refused.json_arg("view"), ensure_ascii=False))
    big = fake_slack.add_file("F3", "huge.png", b"x" * (20 * 1024 * 1024 + 1), "image/png")
    await submit(bot, view, {"evidence": {"type": "file_input", "files": [big]}})
    updates = await fake_slack.wait_for("views.update", 2)
    text = shown(json.dumps(updates[-1].json_arg("view"), ensure_ascii=False))
    assert "huge.png" in text and "20 MB" in text
    assert input_ids(updates[-1].json_arg("view")) == ["evidence"], "still on the evidence page"
    async with bot.core.db() as s:
        draft = await sessions.get_open(
            session=s, platform="slack", user_id="U0REPORTER", flow="abuse_report"
        )
    assert draft is not None and draft.answers["description"], "nothing else was lost"
