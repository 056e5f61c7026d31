"""Wiring Slack into the web app: the Web API client, the bolt app, the route, the messenger."""

from __future__ import annotations

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
    bolt = build_slack_app(
        core, client=client, signing_secret=_secret(settings.slack_signing_secret)
    )
    if settings.socket_mode:
        mount_socket_mode(app, bolt, _secret(settings.slack_app_token))
    if _secret(settings.slack_signing_secret):
        mount_http(app, bolt, signing_secret=_secret(settings.slack_signing_secret))
    return SlackMessenger(client)
