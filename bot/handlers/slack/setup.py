"""Wiring Slack into the web app: the Web API client, the bolt app, the route, the messenger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core import Core
from bot.handlers.slack.app import build_slack_app
from bot.handlers.slack.messenger import SlackMessenger
from bot.handlers.slack.routes import mount_http, mount_socket_mode


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


def setup_slack(
    app: web.Application, core: Core, settings: Settings, *, client: AsyncWebClient | None = None
) -> SlackMessenger:
    """Mount Slack (HTTP or Socket Mode) and return the messenger the outbox uses.

    ``SLACK_API_URL`` sets the Web API base URL (a local fake in tests).
    """
    if client is None:
        client = AsyncWebClient(
            token=_secret(settings.slack_bot_token), base_url=settings.slack_api_url
        )
    app.cleanup_ctx.append(_one_session_for(client))
    bolt = build_slack_app(
        core, client=client, signing_secret=_secret(settings.slack_signing_secret)
    )
    if settings.socket_mode:
        mount_socket_mode(app, bolt, _secret(settings.slack_app_token))
    if _secret(settings.slack_signing_secret):
        mount_http(app, bolt, signing_secret=_secret(settings.slack_signing_secret))
    return SlackMessenger(client)


def _one_session_for(client: AsyncWebClient) -> Any:
    """Give ``client`` one HTTP session for the app's life, closed at shutdown.

    Without one, slack-sdk opens a new session, and so a new TCP (and TLS) connection, for
    every Web API call: under a burst of commands that was a tenth of the bot's time.
    """

    async def session_for_the_app(_app: web.Application) -> AsyncIterator[None]:
        if client.session is not None:  # the caller brought its own
            yield
            return
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
        client.session = session
        try:
            yield
        finally:
            client.session = None
            await session.close()

    return session_for_the_app
