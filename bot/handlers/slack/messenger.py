"""``SlackMessenger``: sends neutral cards through the Slack Web API.

Errors become ``DeliveryError`` for the delivery loop: a 429 carries Slack's
``Retry-After``; errors that retrying cannot fix (the channel is gone, the bot was removed)
are marked permanent; network failures, timeouts and 5xx are transient.

The messenger uses its own copy of the Web API client with slack-sdk's retry handlers left
out (by default it repeats a call once after a dropped connection): the delivery loop is the
one place that retries, with its back-off and its log.

A person's direct-message channel is opened once (``conversations.open``) and remembered:
it does not change, and one call fewer is one failure fewer.

Each message carries the outbox row it delivers in Slack's message ``metadata``
(``event_type`` ``staff_safety_delivery``), which Slack keeps with the message, so a message
can always be traced to the row that sent it.
"""

from __future__ import annotations

import copy
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards import Card
from bot.handlers.slack.blockkit import render_message
from bot.messaging import DeliveryError, retry_after_seconds
from bot.model import ConversationRef, MessageRef, Platform

METADATA_EVENT = "staff_safety_delivery"

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "user_not_found",
        "cant_update_message",
        "message_not_found",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "restricted_action",
        "not_authed",
        "token_revoked",
    }
)


class SlackMessenger:
    """Posts, updates and direct-messages cards on Slack."""

    platform = Platform.SLACK

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = copy.copy(client)
        self._client.retry_handlers = []  # the delivery loop retries (module docstring)
        self._direct_channels: dict[str, str] = {}  # user id -> their DM channel with the bot

    @property
    def web_client(self) -> AsyncWebClient:
        """The messenger's own client (a copy, without slack-sdk's retries)."""
        return self._client

    async def post(
        self, conversation: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        response = await self._call(
            "chat_postMessage",
            channel=conversation.conversation_id,
            unfurl_links=False,
            unfurl_media=False,
            **_metadata(delivery_id),
            **render_message(card),
        )
        channel = str(response.get("channel") or conversation.conversation_id)
        return MessageRef(
            ConversationRef(Platform.SLACK, conversation_id=channel), str(response["ts"])
        )

    async def update(self, message: MessageRef, card: Card, *, delivery_id: str = "") -> None:
        await self._call(
            "chat_update",
            channel=message.conversation.conversation_id,
            ts=message.message_id,
            **_metadata(delivery_id),
            **render_message(card),
        )

    async def send_direct(
        self, person: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        channel = person.conversation_id or self._direct_channels.get(person.user_id, "")
        if not channel:
            opened = await self._call("conversations_open", users=person.user_id)
            channel = self._direct_channels[person.user_id] = str(opened["channel"]["id"])
        conversation = ConversationRef(Platform.SLACK, conversation_id=channel)
        return await self.post(conversation, card, delivery_id=delivery_id)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self._client, method)(**kwargs)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
            raise DeliveryError(f"network: {error!r}") from error


def _metadata(delivery_id: str) -> dict[str, Any]:
    """Slack message metadata naming the outbox row (none when there is no row)."""
    if not delivery_id:
        return {}
    return {"metadata": {"event_type": METADATA_EVENT, "event_payload": {"delivery": delivery_id}}}


def _delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    # A 5xx from Slack's edge is an HTML or text page, not ``{"ok": false, ...}``.
    data = response.data if response is not None else None
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    status = response.status_code if response is not None else 0
    if status == 429 or code == "ratelimited":
        headers = response.headers if response is not None else {}
        retry_after = retry_after_seconds(_header(headers, "Retry-After"))
        return DeliveryError("slack: rate limited", retry_after=retry_after)
    return DeliveryError(f"slack: {status} {code}", permanent=code in PERMANENT_ERRORS)


def _header(headers: Any, name: str) -> Any:
    """A header whatever its case (slack-sdk keeps them as the server sent them)."""
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name.lower():
            return value[0] if isinstance(value, list) and value else value
    return None
