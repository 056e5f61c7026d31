"""Mounting Slack on the aiohttp server: ``POST /slack/events``, or Socket Mode.

One URL takes commands, interactivity, events and options, as Slack's manifest sets them.
Bolt verifies the signature and timestamp (401 otherwise) before any listener runs.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)


def mount_http(app: web.Application, bolt: AsyncApp) -> None:
    """Serve the bolt app at ``POST /slack/events``."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    app.router.add_post("/slack/events", slack_events)


def mount_socket_mode(app: web.Application, bolt: AsyncApp, app_token: str) -> None:
    """Connect to Slack over Socket Mode while the server runs (no public URL needed).

    The handler opens an aiohttp session, which needs a running event loop: it is built in
    the startup hook, not when the app is created.
    """
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    handlers: list[AsyncSocketModeHandler] = []

    async def connect(_: web.Application) -> None:
        handler = AsyncSocketModeHandler(bolt, app_token)
        handlers.append(handler)
        await handler.connect_async()
        log.info("Slack Socket Mode connected")

    async def disconnect(_: web.Application) -> None:
        for handler in handlers:
            await handler.close_async()

    app.on_startup.append(connect)
    app.on_cleanup.append(disconnect)
