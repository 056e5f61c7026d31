"""Teams through the wire: Bot Framework activities in, replies on the fake connector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.config import Settings
from bot.storage.repos import sessions
from tests.support.bot_fixtures import BotClient, make_settings
from tests.support.fake_connector import (
    FakeConnector,
    card_action_activity,
    message_activity,
)


def execute_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute on a card, in the body's ActionSets and the card's actions."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def submit_data(card: dict[str, Any]) -> dict[str, Any]:
    """The data of the card's submit (the Next/Send button), as Teams would send it."""
    for action in card.get("actions", []):
        if action.get("type") == "Action.Execute":
            data: dict[str, Any] = dict(action["data"])
            return data
    raise AssertionError("card has no submit")


def input_ids(card: dict[str, Any]) -> list[str]:
    return [item["id"] for item in card["body"] if str(item.get("type", "")).startswith("Input.")]


async def start_report(bot: BotClient, fake_connector: FakeConnector) -> dict[str, Any]:
    activity = message_activity("report abuse", service_url=fake_connector.service_url)
    response = await bot.teams(activity)
    assert response.status in (200, 201)
    sent = fake_connector.to_conversation("a:personal-chat")
    assert sent, "the bot should reply in the chat"
    card = sent[-1].card
    assert card is not None
    return card


async def press(
    bot: BotClient, fake_connector: FakeConnector, data: dict[str, Any]
) -> dict[str, Any]:
    activity = card_action_activity(data, service_url=fake_connector.service_url)
    response = await bot.teams(activity)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = body["value"]
    return card


async def test_report_abuse_command_replies_with_the_first_page(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    card = await start_report(bot, fake_connector)
    assert card["version"] == "1.5"
    assert input_ids(card) == ["safety"]


async def test_card_press_answers_with_the_next_page_in_place(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    card = await start_report(bot, fake_connector)
    following = await press(bot, fake_connector, {**submit_data(card), "safety": "yes"})
    shown = json.dumps(following)
    assert "999" in shown and "101" in shown


async def test_missing_answer_is_shown_on_the_field(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    card = await start_report(bot, fake_connector)
    again = await press(bot, fake_connector, submit_data(card))
    assert input_ids(again) == ["safety"]
    assert "Please answer this question." in json.dumps(again)


async def test_unknown_action_is_answered_not_failed(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    card = await press(bot, fake_connector, {"action": "not-ours"})
    assert "no longer in use" in json.dumps(card)


async def test_malformed_bodies_get_400(bot: BotClient) -> None:
    url = bot.url("/api/messages")
    not_json = await bot.session.post(
        url, data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status == 400
    no_type = await bot.session.post(url, json={"text": "hello"})
    assert no_type.status == 400


async def test_with_an_app_id_a_request_without_a_token_gets_401(
    sqlite_url: str, fake_connector: FakeConnector, tmp_path: Path
) -> None:
    settings: Settings = make_settings(
        DATABASE_URL=sqlite_url,
        TEAMS_APP_ID="11111111-2222-3333-4444-555555555555",
        TEAMS_APP_PASSWORD="secret",
        BOT_FILE_STORE=str(tmp_path / "files"),
    )
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            activity = message_activity("report abuse", service_url=fake_connector.service_url)
            url = server.make_url("/api/messages")
            response = await session.post(url, json=activity)
            assert response.status == 401
            for token in ("garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.sig"):
                headers = {"Authorization": f"Bearer {token}"}
                bad = await session.post(url, json=activity, headers=headers)
                assert bad.status == 401, token
    finally:
        await server.close()
    assert fake_connector.sent == []


async def test_local_mode_refuses_a_service_url_off_this_machine(bot: BotClient) -> None:
    activity = message_activity("report abuse", service_url="https://smba.example.net/emea/")
    response = await bot.teams(activity)
    assert response.status == 401


async def test_bad_card_metadata_gets_a_calm_card_not_a_500(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    card = await start_report(bot, fake_connector)
    data = {**submit_data(card), "metadata": "not-a-page", "safety": "no"}
    answer = await press(bot, fake_connector, data)
    assert "expired" in json.dumps(answer)


async def test_a_message_whose_draft_failed_to_start_is_processed_when_delivered_again(
    bot: BotClient, fake_connector: FakeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delivery of "report abuse" is recorded in the new draft's transaction: when that
    fails, nothing records the message as seen, and its redelivery starts the report."""
    real_create = sessions.create
    failures: list[str] = []

    async def create_failing_once(**kwargs: Any) -> Any:
        if not failures:
            failures.append(kwargs["flow"])
            raise RuntimeError("the database went away")
        return await real_create(**kwargs)

    monkeypatch.setattr(sessions, "create", create_failing_once)
    activity = message_activity("report abuse", service_url=fake_connector.service_url)
    await bot.teams(activity)  # the turn fails; the person is told something went wrong
    [sorry] = fake_connector.to_conversation("a:personal-chat")
    assert failures and "went wrong" in json.dumps(sorry.activity)
    assert (await bot.teams(activity)).status in (200, 201)
    [_, page] = fake_connector.to_conversation("a:personal-chat")
    assert "Report abusive contact" in json.dumps(page.card), "the report's first page"


async def test_a_repeated_activity_is_processed_once(
    bot: BotClient, fake_connector: FakeConnector
) -> None:
    """The Bot Framework may deliver an activity again: the same id is answered, not redone."""
    activity = message_activity("report abuse", service_url=fake_connector.service_url)
    assert (await bot.teams(activity)).status in (200, 201)
    replies = len(fake_connector.to_conversation("a:personal-chat"))
    again = await bot.teams(activity)
    assert again.status in (200, 201)
    assert len(fake_connector.to_conversation("a:personal-chat")) == replies, "no second reply"
    home = message_activity("help", service_url=fake_connector.service_url, id="help-1")
    assert (await bot.teams(home)).status in (200, 201)
    assert (await bot.teams(home)).status in (200, 201)
    assert len(fake_connector.to_conversation("a:personal-chat")) == replies + 1, "help once"

    data = submit_data(await start_report(bot, fake_connector))
    press_twice = card_action_activity(data, service_url=fake_connector.service_url)
    first = await bot.teams(press_twice)
    repeat = await bot.teams(press_twice)
    assert first.status == repeat.status == 200
    assert (await repeat.json())["value"] == "Already received."
    assert (await first.json())["type"] == "application/vnd.microsoft.card.adaptive"
