"""``TeamsAdapter``: botbuilder's ``CloudAdapter``, its connector calls made by ``Connector``.

Turns run as in the stock adapter (authentication, ``TurnContext``, the middleware pipeline,
the activity handler, invoke responses); only the replies a turn sends and the activities
it updates go out through the shared aiohttp ``Connector`` instead of msrest's
``ConnectorClient``, to the same REST paths, with the credentials of the connector client
botbuilder made for the turn. A reply is made once, with the connector's timeout. Activities
the stock adapter does not send (``delay``, ``invokeResponse``, ``trace``) are left to it.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ResourceResponse
from botframework.connector.auth import BotFrameworkAuthentication

from bot.handlers.teams.connector import DEFAULT_TIMEOUT, Connector
from bot.handlers.teams.serialize import model_json

LEFT_TO_BOTBUILDER = frozenset(
    {"delay", ActivityTypes.invoke_response.value, ActivityTypes.trace.value}
)


class TeamsAdapter(CloudAdapter):
    """The stock adapter, sending through ``connector``."""

    def __init__(
        self,
        auth: BotFrameworkAuthentication,
        connector: Connector,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(auth)
        self._connector = connector
        self.timeout = timeout

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        if not activities or context is None:
            return list(await super().send_activities(context, activities))  # it raises
        responses = []
        for activity in activities:
            if activity.type in LEFT_TO_BOTBUILDER:
                responses.extend(await super().send_activities(context, [activity]))
            else:
                responses.append(await self._send(context, activity))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        if context is None or activity is None:
            return await super().update_activity(context, activity)  # it raises
        answer = await self._connector.update_activity(
            _service_url(context, activity),
            activity.conversation.id,
            activity.id,
            model_json(activity),
            **self._call(context),
        )
        return ResourceResponse(id=answer["id"]) if answer.get("id") else None

    async def _send(self, context: TurnContext, activity: Activity) -> ResourceResponse:
        activity.id = None
        service_url, body = _service_url(context, activity), model_json(activity)
        conversation_id = activity.conversation.id
        if activity.reply_to_id:
            answer = await self._connector.reply_to_activity(
                service_url, conversation_id, activity.reply_to_id, body, **self._call(context)
            )
        else:
            answer = await self._connector.send_to_conversation(
                service_url, conversation_id, body, **self._call(context)
            )
        return ResourceResponse(id=str(answer.get("id") or ""))

    def _call(self, context: TurnContext) -> dict[str, Any]:
        """The credentials of the turn's connector client, and the timeout."""
        client = context.turn_state.get(self.BOT_CONNECTOR_CLIENT_KEY)
        if not client:
            raise RuntimeError("Unable to extract ConnectorClient from turn context.")
        return {"credentials": client.config.credentials, "time_limit": self.timeout}


def _service_url(context: TurnContext, activity: Activity) -> str:
    return str(activity.service_url or context.activity.service_url or "")
