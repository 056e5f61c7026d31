"""``POST /api/messages``: Bot Framework activities into the bot, invoke responses out.

botbuilder-integration-aiohttp 4.17.1's ``CloudAdapter.process()`` answers invoke activities
(``adaptiveCard/action``, ``task/*``) with a 500, so this route calls ``process_activity()``
and writes the invoke response itself. A body that is not an activity gets 400; a missing
or invalid token (when an app id is set) gets 401, never 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from botbuilder.core import Bot
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import Activity

log = logging.getLogger(__name__)


def mount(app: web.Application, adapter: CloudAdapterBase, bot: Bot) -> None:
    """Serve the bot at ``POST /api/messages``."""

    async def messages(request: web.Request) -> web.Response:
        activity = await _activity(request)
        auth_header = request.headers.get("Authorization", "")
        try:
            response = await adapter.process_activity(auth_header, activity, bot.on_turn)
        except PermissionError:
            return web.json_response({"error": "unauthorized"}, status=401)
        if response is None:
            return web.Response(status=201)
        body: Any = response.body
        if body is None:
            return web.Response(status=response.status)
        return web.json_response(body, status=response.status, dumps=_dumps)

    app.router.add_post("/api/messages", messages)


async def _activity(request: web.Request) -> Activity:
    if "application/json" not in request.headers.get("Content-Type", ""):
        raise web.HTTPUnsupportedMediaType(text="expected application/json")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body is not an activity")
    try:
        activity = Activity().deserialize(body)
    except Exception:  # msrest raises several kinds for malformed fields
        raise web.HTTPBadRequest(text="body is not an activity") from None
    if not activity.type:
        raise web.HTTPBadRequest(text="activity has no type")
    return activity


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
