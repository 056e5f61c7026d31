"""The limit and the peers: what the bot is measured against, each as its own server.

``python -m bench.peers aiohttp|bolt|cloudadapter --port N`` serves one of:

* ``aiohttp``: a bare aiohttp handler answering 200 on every path the bot serves (the limit);
* ``bolt``: a plain slack-bolt ``AsyncApp`` whose command and action listeners only
  ``ack()``, served by bolt's own aiohttp adapter (``AsyncApp.web_app()``), with the same
  signing secret and a token checked once with ``auth.test`` against the fake Slack, as
  the bot's bolt app is configured;
* ``cloudadapter``: the stock botbuilder ``CloudAdapter`` with a no-op ``ActivityHandler``,
  set up as Microsoft's samples do (``adapter.process(request, bot)``), with an empty app id:
  the same local mode (no token check) the bot runs in for these measurements. Its card
  action answers a fixed one-line card, the least a bot can answer an
  ``adaptiveCard/action`` with. ``process()`` answers every invoke with a 500 in
  botbuilder 4.17.1, so invokes go through ``process_activity()``, the bot's workaround too.

Every server also answers ``GET /healthz`` so the suite can tell when it is up. Access
logging is left as ``web.run_app`` sets it with no logging configured (not written).
"""

from __future__ import annotations

import argparse
import re
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bench.config import BOT_TOKEN, SIGNING_SECRET

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def bare_aiohttp() -> web.Application:
    """The limit: one handler answering 200 on the bot's routes."""

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/slack/events", ok)
    app.router.add_post("/api/messages", ok)
    app.router.add_get("/healthz", healthz)
    return app


def plain_bolt(slack_api_url: str) -> web.Application:
    """A slack-bolt ``AsyncApp`` whose listeners only acknowledge."""
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url)
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    bolt.command("/report-abuse")(only_ack)
    bolt.action(re.compile(r".+"))(only_ack)
    app = bolt.web_app(path="/slack/events")
    app.router.add_get("/healthz", healthz)
    return app


def stock_cloud_adapter() -> web.Application:
    """The stock ``CloudAdapter`` and a no-op bot, as in Microsoft's aiohttp samples."""
    from botbuilder.core import ActivityHandler, TurnContext
    from botbuilder.integration.aiohttp import (
        CloudAdapter,
        ConfigurationBotFrameworkAuthentication,
    )
    from botbuilder.schema import Activity, AdaptiveCardInvokeResponse

    class DefaultConfig:
        """The samples' ``config.py``, with no app id (local mode)."""

        APP_ID = ""
        APP_PASSWORD = ""
        APP_TYPE = "MultiTenant"
        APP_TENANTID = ""

    class NoOpBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            return None

        async def on_adaptive_card_invoke(
            self, turn_context: TurnContext, invoke_value: Any
        ) -> AdaptiveCardInvokeResponse:
            card = {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [{"type": "TextBlock", "text": "Done"}],
            }
            return AdaptiveCardInvokeResponse(
                status_code=int(HTTPStatus.OK), type=ADAPTIVE_CARD, value=card
            )

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(DefaultConfig()))
    bot = NoOpBot()

    async def messages(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("type") == "invoke":
            # process() re-serialises the (already serialised) invoke response and fails
            # with a 500 on every invoke in 4.17.1; the one workaround, as the bot does it.
            activity = Activity().deserialize(body)
            auth = request.headers.get("Authorization", "")
            invoke = await adapter.process_activity(auth, activity, bot.on_turn)
            return web.json_response(invoke.body, status=invoke.status)
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def build(name: str, slack_api_url: str) -> web.Application:
    """The peer called ``name``."""
    if name == "aiohttp":
        return bare_aiohttp()
    if name == "bolt":
        return plain_bolt(slack_api_url)
    if name == "cloudadapter":
        return stock_cloud_adapter()
    raise ValueError(f"no peer called {name!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=["aiohttp", "bolt", "cloudadapter"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", default="http://127.0.0.1:9/api/")
    options = parser.parse_args()
    web.run_app(
        build(options.name, options.slack_api_url),
        host="127.0.0.1",
        port=options.port,
        print=None,
    )
