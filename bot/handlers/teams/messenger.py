"""``TeamsMessenger``: sends neutral cards through the Bot Framework connector.

Posting to a channel or chat is ``send_to_conversation``; a card updates in place with
``update_activity``; a direct message first creates the one-to-one conversation. The calls
go through the shared ``Connector`` (one aiohttp session; see ``connector.py``), with the
credentials of the connector clients botbuilder makes for the service URL (cached, and
shared with inbound turns: ``CachingAuthentication``).

HTTP errors become ``DeliveryError``: 429 and 5xx are retried (a 429's ``Retry-After`` is
honoured), 403/404 mean the bot was removed or the conversation is gone, 400 that the
activity will never be taken. Every call is given ``timeout`` and made once: the delivery
loop is the one place that retries, with its back-off and its log (the stock connector
client waited 100 s in a worker thread and silently repeated a card update up to four
times, sleeping a ``Retry-After`` in the thread).

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
from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity

from bot.cards import Card
from bot.handlers.teams.adaptive import render
from bot.handlers.teams.adaptive_text import plain
from bot.handlers.teams.auth import CachingAuthentication
from bot.handlers.teams.connector import DEFAULT_TIMEOUT, Connector, ConnectorError
from bot.handlers.teams.serialize import model_json
from bot.messaging import DeliveryError, retry_after_seconds
from bot.model import ConversationRef, MessageRef, Platform

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


class TeamsMessenger:
    """Posts, updates and direct-messages cards on Teams.

    Args:
        auth: the authentication whose connector clients give the credentials.
        app_id: the bot's Microsoft App ID (empty in local mode).
        timeout: seconds for the connector to answer one call.
        connector: the shared connector (``setup_teams`` passes the app's); without one,
            each call opens its own session, as nothing would close a shared one.
    """

    platform = Platform.TEAMS

    def __init__(
        self,
        auth: CachingAuthentication,
        *,
        app_id: str,
        timeout: float = DEFAULT_TIMEOUT,
        connector: Connector | None = None,
    ) -> None:
        self._app_id = app_id
        self.timeout = timeout
        self._connector = connector or Connector(pooled=False)
        identity = ClaimsIdentity(
            {
                AuthenticationConstants.AUDIENCE_CLAIM: app_id,
                AuthenticationConstants.APP_ID_CLAIM: app_id,
            },
            True,
        )
        self._factory = auth.create_connector_factory(identity)
        self._direct_chats: dict[tuple[str, str], str] = {}  # (service URL, user) -> chat id

    async def _call(self, service_url: str) -> dict[str, Any]:
        """The credentials for ``service_url`` (botframework's) and the timeout."""
        client = await self._factory.create(service_url, "")
        return {"credentials": client.config.credentials, "time_limit": self.timeout}

    async def post(
        self, conversation: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        service_url = conversation.service_url
        answer = await _delivered(
            self._connector.send_to_conversation(
                service_url,
                conversation.conversation_id,
                model_json(_activity(card, delivery_id)),
                **await self._call(service_url),
            )
        )
        return MessageRef(conversation, str(answer.get("id", "") or ""))

    async def update(self, message: MessageRef, card: Card, *, delivery_id: str = "") -> None:
        conversation = message.conversation
        activity = _activity(card, delivery_id)
        activity.id = message.message_id
        await _delivered(
            self._connector.update_activity(
                conversation.service_url,
                conversation.conversation_id,
                message.message_id,
                model_json(activity),
                **await self._call(conversation.service_url),
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
        created = await _delivered(
            self._connector.create_conversation(
                person.service_url,
                model_json(self._direct_chat(person)),
                **await self._call(person.service_url),
            )
        )
        chat_id = str(created.get("id") or "")
        if not chat_id:
            raise DeliveryError("teams: the new chat has no id")
        self._direct_chats[(person.service_url, person.user_id)] = chat_id
        return await self.post(_in_chat(person, chat_id), card, delivery_id=delivery_id)

    def _direct_chat(self, person: ConversationRef) -> ConversationParameters:
        return ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=person.bot_id or f"28:{self._app_id}"),
            members=[ChannelAccount(id=person.user_id)],
            tenant_id=person.tenant_id or None,
            channel_data={"tenant": {"id": person.tenant_id}} if person.tenant_id else None,
        )

    async def close(self) -> None:
        """Close the connector's session."""
        await self._connector.close()


def _in_chat(person: ConversationRef, chat_id: str) -> ConversationRef:
    return ConversationRef(
        Platform.TEAMS,
        conversation_id=chat_id,
        user_id=person.user_id,
        service_url=person.service_url,
        tenant_id=person.tenant_id,
        bot_id=person.bot_id,
    )


MAX_SUMMARY = 200


def _activity(card: Card, delivery_id: str = "") -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=plain(card.summary(), MAX_SUMMARY),  # a notification's words: plain text
        attachments=[Attachment(content_type=CARD_TYPE, content=render(card))],
        channel_data={"staffSafety": {"delivery": delivery_id}} if delivery_id else None,
    )


async def _delivered(awaitable: Any) -> dict[str, Any]:
    """The connector's answer, or the ``DeliveryError`` its failure means."""
    try:
        answer: dict[str, Any] = await awaitable
        return answer
    except ConnectorError as error:
        raise _delivery_error(error) from error
    except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
        raise DeliveryError(f"network: {error!r}") from error
    except ValueError as error:  # a 2xx whose body is not the JSON object expected
        raise DeliveryError(f"teams: unreadable reply: {error!r}") from error


def _delivery_error(error: ConnectorError) -> DeliveryError:
    if error.status == 429:
        return DeliveryError("teams: 429", retry_after=retry_after_seconds(error.retry_after))
    return DeliveryError(f"teams: {error.status}", permanent=error.status in (400, 403, 404))
