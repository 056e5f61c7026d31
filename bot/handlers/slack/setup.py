"""Wiring Slack into the web app: the Web API client, the bolt app, the route, the messenger."""

from __future__ import annotations

import logging
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
    no_unwritten_debug_messages(client)
    messenger = SlackMessenger(client)
    app.cleanup_ctx.append(one_session_for(client, messenger.web_client))
    bolt = build_slack_app(
        core, client=client, signing_secret=_secret(settings.slack_signing_secret)
    )
    if settings.socket_mode:
        mount_socket_mode(app, bolt, _secret(settings.slack_app_token))
    if _secret(settings.slack_signing_secret):
        mount_http(app, bolt, signing_secret=_secret(settings.slack_signing_secret))
    return messenger


def no_unwritten_debug_messages(client: AsyncWebClient) -> None:
    """Stop slack-sdk building debug messages that logging would not write.

    slack-sdk formats a debug line with every request and response it sends (the whole
    view or card, and the response headers) whenever its logger's *own* level is unset,
    before logging decides whether to write it: a tenth of each ``views.open``. Setting the
    level logging applies at start anyway (as bolt does for its own loggers) changes nothing
    written; to see those lines, configure DEBUG before the app is built. The messenger's
    copy and bolt's per-request clients share this logger.
    """
    logger = client.logger
    if logger.level == logging.NOTSET and not logger.isEnabledFor(logging.DEBUG):
        logger.setLevel(logger.getEffectiveLevel())


def one_session_for(*clients: AsyncWebClient) -> Any:
    """Give the clients (bolt's, and the messenger's copy) one HTTP session for the app's
    life, closed at shutdown.

    Without one, slack-sdk opens a new session, and so a new TCP (and TLS) connection, for
    every Web API call: under a burst of commands that was a tenth of the bot's time, and
    every message the outbox delivered paid it too.
    """

    async def session_for_the_app(_app: web.Application) -> AsyncIterator[None]:
        given = [c for c in clients if c.session is None]  # a caller may bring its own
        timeout = aiohttp.ClientTimeout(total=max(c.timeout for c in clients))
        session = aiohttp.ClientSession(timeout=timeout)
        for client in given:
            client.session = session
        try:
            yield
        finally:
            for client in given:
                client.session = None
            await session.close()

    return session_for_the_app
