"""``TeamsMessenger``: sends neutral cards through the Bot Framework connector.

It uses the same cached connector clients as inbound turns (``CachingAuthentication``).
Posting to a channel or chat is ``send_to_conversation``; a card updates in place with
``update_activity``; a direct message first creates the one-to-one conversation.
HTTP errors become ``DeliveryError``: 429 and 5xx are retried (a 429's ``Retry-After`` is
honoured), 403/404 mean the bot was removed or the conversation is gone.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.cards import Card
from bot.handlers.teams.adaptive import render
from bot.handlers.teams.auth import CachingAuthentication
from bot.messaging import DeliveryError
from bot.model import ConversationRef, MessageRef, Platform

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


class TeamsMessenger:
    """Posts, updates and direct-messages cards on Teams."""

    platform = Platform.TEAMS

    def __init__(self, auth: CachingAuthentication, *, app_id: str) -> None:
        self._auth = auth
        self._app_id = app_id

    async def _client(self, service_url: str) -> ConnectorClient:
        identity = ClaimsIdentity(
            {
                AuthenticationConstants.AUDIENCE_CLAIM: self._app_id,
                AuthenticationConstants.APP_ID_CLAIM: self._app_id,
            },
            True,
        )
        factory = self._auth.create_connector_factory(identity)
        return await factory.create(service_url, "")

    async def post(self, conversation: ConversationRef, card: Card) -> MessageRef:
        client = await self._client(conversation.service_url)
        activity = _activity(card)
        response = await _call(
            client.conversations.send_to_conversation(conversation.conversation_id, activity)
        )
        return MessageRef(conversation, str(getattr(response, "id", "") or ""))

    async def update(self, message: MessageRef, card: Card) -> None:
        conversation = message.conversation
        client = await self._client(conversation.service_url)
        activity = _activity(card)
        activity.id = message.message_id
        await _call(
            client.conversations.update_activity(
                conversation.conversation_id, message.message_id, activity
            )
        )

    async def send_direct(self, person: ConversationRef, card: Card) -> MessageRef:
        if person.conversation_id:
            return await self.post(person, card)
        client = await self._client(person.service_url)
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=person.bot_id or f"28:{self._app_id}"),
            members=[ChannelAccount(id=person.user_id)],
            tenant_id=person.tenant_id or None,
            channel_data={"tenant": {"id": person.tenant_id}} if person.tenant_id else None,
        )
        created = await _call(client.conversations.create_conversation(parameters))
        opened = ConversationRef(
            Platform.TEAMS,
            conversation_id=str(created.id),
            user_id=person.user_id,
            service_url=person.service_url,
            tenant_id=person.tenant_id,
            bot_id=person.bot_id,
        )
        return await self.post(opened, card)


def _activity(card: Card) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=card.summary()[:200],
        attachments=[Attachment(content_type=CARD_TYPE, content=render(card))],
    )


async def _call(awaitable: Any) -> Any:
    try:
        return await awaitable
    except HttpOperationError as error:
        raise _delivery_error(error) from error
    except (TimeoutError, ClientRequestError, aiohttp.ClientError, ConnectionError) as error:
        raise DeliveryError(f"network: {error!r}") from error


def _delivery_error(error: HttpOperationError) -> DeliveryError:
    response = getattr(error, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    if status == 429:
        return DeliveryError("teams: 429", retry_after=float(headers.get("Retry-After", 1)))
    return DeliveryError(f"teams: {status}", permanent=status in (400, 403, 404))
