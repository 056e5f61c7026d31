"""``SlackMessenger``: sends neutral cards through the Slack Web API.

Errors become ``DeliveryError`` for the delivery loop: a 429 carries Slack's
``Retry-After``; errors that retrying cannot fix (the channel is gone, the bot was removed)
are marked permanent; network failures and 5xx are transient.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards import Card
from bot.handlers.slack.blockkit import render_message
from bot.messaging import DeliveryError
from bot.model import ConversationRef, MessageRef, Platform

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
        self._client = client

    async def post(self, conversation: ConversationRef, card: Card) -> MessageRef:
        response = await self._call(
            "chat_postMessage",
            channel=conversation.conversation_id,
            unfurl_links=False,
            unfurl_media=False,
            **render_message(card),
        )
        channel = str(response.get("channel") or conversation.conversation_id)
        return MessageRef(
            ConversationRef(Platform.SLACK, conversation_id=channel), str(response["ts"])
        )

    async def update(self, message: MessageRef, card: Card) -> None:
        await self._call(
            "chat_update",
            channel=message.conversation.conversation_id,
            ts=message.message_id,
            **render_message(card),
        )

    async def send_direct(self, person: ConversationRef, card: Card) -> MessageRef:
        channel = person.conversation_id
        if not channel:
            opened = await self._call("conversations_open", users=person.user_id)
            channel = str(opened["channel"]["id"])
        return await self.post(ConversationRef(Platform.SLACK, conversation_id=channel), card)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self._client, method)(**kwargs)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
            raise DeliveryError(f"network: {error!r}") from error


def _delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    code = str(response.get("error", "")) if response is not None else ""
    status = response.status_code if response is not None else 0
    if status == 429 or code == "ratelimited":
        retry_after = response.headers.get("Retry-After", "1") if response is not None else "1"
        return DeliveryError("slack: rate limited", retry_after=float(retry_after))
    return DeliveryError(f"slack: {status} {code}", permanent=code in PERMANENT_ERRORS)
