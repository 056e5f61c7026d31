"""Who a Slack user is, for the pack's roles: their e-mail address, looked up and cached.

Packs may name role members by e-mail; Slack payloads carry only the user id, so the
address comes from ``users.info`` (scope ``users:read.email``). Lookups are cached for a
while per process, and a failed lookup simply leaves the address empty (the person is then
matched by ``slack:<id>`` alone), never failing the request.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model import Actor

log = logging.getLogger(__name__)
CACHE_SECONDS = 600.0


class SlackPeople:
    """Adds e-mail addresses to Slack actors."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._cache: dict[str, tuple[float, str]] = {}

    async def with_email(self, actor: Actor) -> Actor:
        """The actor with their e-mail address, when Slack will say it."""
        if actor.email or not actor.user_id:
            return actor
        cached = self._cache.get(actor.user_id)
        if cached is not None and cached[0] > time.monotonic():
            return dataclasses.replace(actor, email=cached[1])
        email = ""
        try:
            response = await self._client.users_info(user=actor.user_id)
            email = str(((response.get("user") or {}).get("profile") or {}).get("email") or "")
        except (SlackApiError, OSError, TimeoutError) as error:
            log.info("could not look up a Slack user's e-mail: %s", type(error).__name__)
        self._cache[actor.user_id] = (time.monotonic() + CACHE_SECONDS, email)
        return dataclasses.replace(actor, email=email)
