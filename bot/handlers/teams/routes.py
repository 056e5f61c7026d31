"""``POST /api/messages``: Bot Framework activities into the bot, invoke responses out.

botbuilder-integration-aiohttp 4.17.1's ``CloudAdapter.process()`` answers invoke activities
(``adaptiveCard/action``, ``task/*``) with a 500, so this route calls ``process_activity()``
and writes the invoke response itself. A body that is not an activity, or a message or
invoke without its sender's or conversation's id, gets 400; a missing or invalid token
(when an app id is set) gets 401, never 500.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import Bot
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import Activity
from botframework.connector.auth import BotFrameworkAuthentication

from bot.handlers.teams import parse
from bot.handlers.teams.serialize import activity_from_json

log = logging.getLogger(__name__)

# What the bot acts on, and so needs the sender and the conversation of.
ACTED_ON = frozenset({"message", "invoke"})


def mount(
    app: web.Application,
    adapter: CloudAdapterBase,
    bot: Bot,
    auth: BotFrameworkAuthentication,
    *,
    local_mode: bool,
    seen_before: Callable[[str], Awaitable[bool]],
) -> None:
    """Serve the bot at ``POST /api/messages``.

    Authentication runs first and any failure of it (no token, a malformed one, a bad
    signature) is a 401. In local mode (no app id, no token check) only this machine may
    talk to the bot and only a loopback ``serviceUrl`` is accepted, so an open port cannot be
    used to make the bot call elsewhere or to pose as someone else.

    An activity the Bot Framework delivers again (the same id in the same conversation) is
    acknowledged and not processed twice: ``seen_before`` records its key in the database.
    Messages and card presses are checked by the bot instead, which records the key of one
    that changes something (a press, a draft started) in that change's own transaction, so
    one that failed is processed when it comes again.
    """

    async def messages(request: web.Request) -> web.Response:
        activity = await _activity(request)
        if local_mode and not _local(request, activity):
            log.warning("refused a non-local Teams request in local mode")
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            authenticated = await auth.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as error:  # botbuilder raises several kinds for bad tokens
            log.info("Teams request refused: %s (%s)", type(error).__name__, str(error)[:160])
            return web.json_response({"error": "unauthorized"}, status=401)
        key = parse.delivery_key(activity)
        # Messages and card presses are checked in the bot, in their own transaction where
        # they have one (StaffSafetyBot); everything else here.
        if key and not _checked_by_the_bot(activity) and await seen_before(key):
            log.info("ignored a repeated Teams activity %s (%s)", activity.id, activity.type)
            return _repeat_response(activity)
        response = await adapter.process_activity(authenticated, activity, bot.on_turn)
        if response is None:
            return web.Response(status=201)
        body: Any = response.body
        if body is None:
            return web.Response(status=response.status)
        return web.json_response(body, status=response.status, dumps=_dumps)

    app.router.add_post("/api/messages", messages)


def _checked_by_the_bot(activity: Activity) -> bool:
    if activity.type == "message":
        return True
    return activity.type == "invoke" and activity.name == parse.CARD_ACTION


def _repeat_response(activity: Activity) -> web.Response:
    """An invoke must still be answered; the first delivery already did the work."""
    if activity.type == "invoke":
        return web.json_response(parse.ALREADY_RECEIVED, status=200)
    return web.Response(status=200)


@functools.lru_cache(maxsize=256)  # the same few addresses, on every request
def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local(request: web.Request, activity: Activity) -> bool:
    service_host = urlsplit(activity.service_url or "").hostname or ""
    return _is_loopback(request.remote or "") and _is_loopback(service_host)


async def _activity(request: web.Request) -> Activity:
    if "application/json" not in request.headers.get("Content-Type", ""):
        raise web.HTTPUnsupportedMediaType(text="expected application/json")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body is not an activity")
    try:
        activity = activity_from_json(body)
    except Exception:  # msrest raises several kinds for malformed fields
        raise web.HTTPBadRequest(text="body is not an activity") from None
    if not activity.type:
        raise web.HTTPBadRequest(text="activity has no type")
    if activity.type in ACTED_ON and not (
        _has_id(activity.from_property) and _has_id(activity.conversation)
    ):
        # The bot answers in the conversation and records the sender: without them a
        # message would start a draft for nobody and then fail to answer.
        raise web.HTTPBadRequest(text="activity has no sender or no conversation")
    return activity


def _has_id(account: Any) -> bool:
    return account is not None and isinstance(account.id, str) and bool(account.id.strip())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
