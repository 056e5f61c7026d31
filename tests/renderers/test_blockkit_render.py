"""The Block Kit renderer: safe for any text, within Slack's limits, valid for slack-sdk."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.cards import Card, Link, Text
from bot.handlers.slack.blockkit import render_errors, render_message, render_modal
from tests.renderers.support import (
    TRUSTED_URL,
    cards,
    dangerous_text,
    shown_or_cut,
    slack_mrkdwn_norm,
    slack_mrkdwn_reads,
    slack_plain_norm,
    slack_shows,
    user_text,
)
from tests.renderers.test_blockkit_escaping import assert_inert

LINK_START = "<" + TRUSTED_URL.replace("&", "&amp;") + "|"
CARD_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def text_objects(value: Any) -> list[dict[str, Any]]:
    """Every text object (plain_text or mrkdwn) in a payload."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and "text" in value:
            found.append(value)
        for item in value.values():
            found += text_objects(item)
    elif isinstance(value, list):
        for item in value:
            found += text_objects(item)
    return found


def assert_safe(payload: dict[str, Any]) -> None:
    """No text a person reads can ping, link or format (input values are not read as text)."""
    for obj in text_objects(payload):
        text = obj["text"]
        assert 1 <= len(text) <= 3000
        if obj["type"] == "plain_text":
            assert obj["emoji"] is False
            assert_inert(text)
        else:
            assert text.startswith(LINK_START) and text.endswith(">"), text
            label = text[len(LINK_START) : -1]
            assert_inert(label)
            assert not re.search(r"[*_~`|]", label)
    if "text" in payload and isinstance(payload["text"], str):  # the notification fallback
        assert_inert(payload["text"])
    for message in payload.get("errors", {}).values():
        assert_inert(message)


def assert_within_limits(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert len(blocks) <= max_blocks
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        match block["type"]:
            case "header":
                assert len(block["text"]["text"]) <= 150
            case "section":
                assert len(block.get("fields", [])) <= 10
                assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
            case "context":
                assert len(block["elements"]) <= 10
            case "actions":
                assert len(block["elements"]) <= 25
                ids = [element["action_id"] for element in block["elements"]]
                assert len(ids) == len(set(ids))
                for button in block["elements"]:
                    assert len(button["text"]["text"]) <= 75
                    assert len(button.get("value", "")) <= 2000
            case "input":
                assert_input_within_limits(block)


def assert_input_within_limits(block: dict[str, Any]) -> None:
    element = block["element"]
    assert element["action_id"] == block["block_id"]
    assert len(block["label"]["text"]) <= 2000
    options = element.get("options", [])
    assert len(options) <= (10 if element["type"] in ("radio_buttons", "checkboxes") else 100)
    for option in options:
        assert len(option["text"]["text"]) <= 75 and 1 <= len(option["value"]) <= 150
    if element["type"] == "plain_text_input":
        assert element["max_length"] <= 3000
        assert len(element.get("initial_value", "")) <= element["max_length"]
        assert len(element.get("placeholder", {}).get("text", "")) <= 150
    if element["type"] == "file_input":
        assert 1 <= element["max_files"] <= 10


def validate_with_sdk(blocks: list[dict[str, Any]]) -> None:
    """slack-sdk's models check their own limits (they skip ``file_input``, which they lack)."""
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()


@CARD_SETTINGS
@given(cards)
def test_any_card_renders_as_a_safe_valid_message(card: Card) -> None:
    message = render_message(card)
    assert_safe(message)
    assert_within_limits(message["blocks"], 50)
    validate_with_sdk(message["blocks"])


@CARD_SETTINGS
@given(cards)
def test_any_card_renders_as_a_safe_valid_modal(card: Card) -> None:
    view = render_modal(card, callback_id="flow_page")
    assert_safe(view)
    assert_within_limits(view["blocks"], 100)
    for key in ("title", "submit", "close"):
        assert key not in view or 1 <= len(view[key]["text"]) <= 24
    View(**view).validate_json()
    errors = render_errors(card)
    assert_safe(errors)
    assert set(errors["errors"]) == {i.id for i in card.inputs if i.error}


@settings(max_examples=150, deadline=None)
@given(user_text)
def test_a_paragraph_shows_the_text_whole_or_cut(text: str) -> None:
    blocks = render_message(Card(title="", elements=(Text(text),)))["blocks"]
    if text.strip():
        assert shown_or_cut(slack_shows(blocks[0]["text"]["text"]), slack_plain_norm(text))
    else:
        assert blocks == []


@settings(max_examples=150, deadline=None)
@given(dangerous_text.filter(str.strip))
def test_a_link_label_reads_as_typed(label: str) -> None:
    [block] = render_message(Card(title="", elements=(Link(label, TRUSTED_URL),)))["blocks"]
    shown = slack_mrkdwn_reads(block["text"]["text"][len(LINK_START) : -1])
    assert shown_or_cut(shown, slack_mrkdwn_norm(label))
