"""Signed Slack requests, made the way Slack signs them (v0 HMAC-SHA256 of the raw body).

Uses slack-sdk's ``SignatureVerifier``'s own algorithm in reverse so tests and the bot agree.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"
_PRESSES = itertools.count(1)


def action_ts() -> str:
    """A fresh ``action_ts``, as Slack stamps each press (the bot dedupes repeats by it)."""
    return f"{int(time.time())}.{next(_PRESSES):06d}"


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack would send with ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
        "Content-Type": content_type,
    }


def slash_command_body(
    command: str,
    *,
    user_id: str = "U0REPORTER",
    text: str = "",
    channel_id: str = "D0DM",
    trigger_id: str = "1337.42.abcd",
) -> str:
    """The form body of a slash command invocation."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0FAKE",
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "directmessage",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "trigger_id": trigger_id,
            "response_url": "https://hooks.invalid/commands/1",
            "is_enterprise_install": "false",
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """The form body of an interactivity request (``payload=<json>``)."""
    return urlencode({"payload": json.dumps(payload)})


def press_body(
    user: str,
    value: str,
    *,
    channel: str = "C0TRIAGE",
    message_ts: str = "",
    stamp: str = "",
) -> str:
    """A ``block_actions`` body for a press of the button carrying ``value`` (signed by
    ``BotClient.slack``). ``stamp`` is the press's ``action_ts``: a fresh one by default."""
    container: dict[str, Any] = {"type": "message", "channel_id": channel}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "name": user.lower()},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "trigger_id": f"t-{user}",
        "channel": {"id": channel},
        "container": container,
        "actions": [
            {
                "action_id": "a",
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": stamp or action_ts(),
            }
        ],
    }
    if message_ts:
        container["message_ts"] = message_ts
        payload["message"] = {"ts": message_ts}
    return interaction_body(payload)
