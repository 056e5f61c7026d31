"""``TeamsMessenger``: sends neutral cards through the Bot Framework connector.

It uses the same cached connector clients as inbound turns (``CachingAuthentication``).
Posting to a channel or chat is ``send_to_conversation``; a card updates in place with
``update_activity``; a direct message first creates the one-to-one conversation.
HTTP errors become ``DeliveryError``: 429 and 5xx are retried (a 429's ``Retry-After`` is
honoured), 403/404 mean the bot was removed or the conversation is gone.

Two defaults of the connector client are wrong for an outbox, so they are changed here. Its
``requests`` transport waits 100 s for an answer, in a worker thread: every call is given
``timeout`` instead. And its urllib3 retry policy silently repeats a PUT (a card update) on
5xx, on a dropped connection and on 429 (sleeping the ``Retry-After`` in the thread): up to
four tries inside one send, holding the delivery loop. The client's retries are turned off,
so the delivery loop is the one place that retries, with its back-off and its log.

A one-to-one chat the bot creates for a direct message is remembered (per service URL and
person), so later messages to that person go straight to it.

Each activity names the outbox row it delivers in ``channelData`` (``staffSafety.delivery``),
which Teams ignores, so a message can be traced to the row that sent it.
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
from msrest.exceptions import ClientRequestError, DeserializationError, HttpOperationError

from bot.cards import Card
from bot.handlers.teams.adaptive import render
from bot.handlers.teams.auth import CachingAuthentication
from bot.messaging import DeliveryError, retry_after_seconds
from bot.model import ConversationRef, MessageRef, Platform

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
DEFAULT_TIMEOUT = 20.0  # seconds for the connector to answer one call


class TeamsMessenger:
    """Posts, updates and direct-messages cards on Teams."""

    platform = Platform.TEAMS

    def __init__(
        self, auth: CachingAuthentication, *, app_id: str, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._auth = auth
        self._app_id = app_id
        self.timeout = timeout
        self._direct_chats: dict[tuple[str, str], str] = {}  # (service URL, user) -> chat id

    async def _client(self, service_url: str) -> ConnectorClient:
        identity = ClaimsIdentity(
            {
                AuthenticationConstants.AUDIENCE_CLAIM: self._app_id,
                AuthenticationConstants.APP_ID_CLAIM: self._app_id,
            },
            True,
        )
        factory = self._auth.create_connector_factory(identity)
        client = await factory.create(service_url, "")
        client.config.retry_policy.retries = 0  # the delivery loop retries (module docstring)
        return client

    async def post(
        self, conversation: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        client = await self._client(conversation.service_url)
        activity = _activity(card, delivery_id)
        response = await _call(
            client.conversations.send_to_conversation(
                conversation.conversation_id, activity, timeout=self.timeout
            )
        )
        return MessageRef(conversation, str(getattr(response, "id", "") or ""))

    async def update(self, message: MessageRef, card: Card, *, delivery_id: str = "") -> None:
        conversation = message.conversation
        client = await self._client(conversation.service_url)
        activity = _activity(card, delivery_id)
        activity.id = message.message_id
        await _call(
            client.conversations.update_activity(
                conversation.conversation_id, message.message_id, activity, timeout=self.timeout
            )
        )

    async def send_direct(
        self, person: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        if person.conversation_id:
            return await self.post(person, card, delivery_id=delivery_id)
        known = self._direct_chats.get((person.service_url, person.user_id))
        if known:
            return await self.post(_in_chat(person, known), card, delivery_id=delivery_id)
        client = await self._client(person.service_url)
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=person.bot_id or f"28:{self._app_id}"),
            members=[ChannelAccount(id=person.user_id)],
            tenant_id=person.tenant_id or None,
            channel_data={"tenant": {"id": person.tenant_id}} if person.tenant_id else None,
        )
        created = await _call(
            client.conversations.create_conversation(parameters, timeout=self.timeout)
        )
        self._direct_chats[(person.service_url, person.user_id)] = str(created.id)
        return await self.post(_in_chat(person, str(created.id)), card, delivery_id=delivery_id)


def _in_chat(person: ConversationRef, chat_id: str) -> ConversationRef:
    return ConversationRef(
        Platform.TEAMS,
        conversation_id=chat_id,
        user_id=person.user_id,
        service_url=person.service_url,
        tenant_id=person.tenant_id,
        bot_id=person.bot_id,
    )


def _activity(card: Card, delivery_id: str = "") -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=card.summary()[:200],
        attachments=[Attachment(content_type=CARD_TYPE, content=render(card))],
        channel_data={"staffSafety": {"delivery": delivery_id}} if delivery_id else None,
    )


async def _call(awaitable: Any) -> Any:
    try:
        return await awaitable
    except HttpOperationError as error:
        raise _delivery_error(error) from error
    except DeserializationError as error:
        # msrest reads an error reply as JSON: a 5xx page in HTML fails that reading.
        raise DeliveryError(f"teams: unreadable error reply: {error!r}") from error
    except (TimeoutError, ClientRequestError, aiohttp.ClientError, ConnectionError) as error:
        raise DeliveryError(f"network: {error!r}") from error


def _delivery_error(error: HttpOperationError) -> DeliveryError:
    response = getattr(error, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    if status == 429:
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        return DeliveryError("teams: 429", retry_after=retry_after)
    return DeliveryError(f"teams: {status}", permanent=status in (400, 403, 404))
