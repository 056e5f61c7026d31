"""Mounting Slack on the aiohttp server: ``POST /slack/events``, or Socket Mode.

One URL takes commands, interactivity, events and options, as Slack's manifest sets them.
Every request is checked in three steps before any listener runs:

1. the signature and the timestamp (401 otherwise), first, so nothing from anyone else is
   even parsed: parsing a large form body costs far more than the HMAC (and bolt, which
   parses before it verifies, answers 500 to a timestamp that is not a number);
2. the body is a Slack request (400 otherwise, see ``envelope``: bolt would answer 500);
3. bolt itself, which verifies the signature again and dispatches to the listeners.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.handlers.slack.envelope import decode, problem

log = logging.getLogger(__name__)


def mount_http(app: web.Application, bolt: AsyncApp, *, signing_secret: str) -> None:
    """Serve the bolt app at ``POST /slack/events``."""
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        raw = await request.read()
        if not _signed(verifier, raw, request):
            log.info("refused a Slack request: bad signature or old timestamp")
            return web.json_response({"error": "invalid request"}, status=401)
        text = decode(raw)
        malformed = problem(text, request.content_type)
        if malformed or text is None:
            log.info("refused a malformed Slack request: %s", malformed)
            return web.json_response({"error": malformed}, status=400)
        bolt_request = AsyncBoltRequest(
            body=text,
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    app.router.add_post("/slack/events", slack_events)


def _signed(verifier: SignatureVerifier, raw: bytes, request: web.Request) -> bool:
    """Signed by Slack with our secret in the last five minutes (slack-sdk's own check)."""
    try:
        return verifier.is_valid_request(raw, dict(request.headers))
    except (ValueError, UnicodeDecodeError):  # a timestamp that is no number; a body not UTF-8
        return False


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
