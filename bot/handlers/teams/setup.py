"""Wiring Teams into the web app: authentication, the adapter, the route, the messenger."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.core import Core
from bot.handlers.teams import routes
from bot.handlers.teams.adapter import TeamsAdapter
from bot.handlers.teams.auth import build_authentication
from bot.handlers.teams.bot import StaffSafetyBot, on_turn_error, quiet_trigger_warnings
from bot.handlers.teams.connector import Connector
from bot.handlers.teams.messenger import TeamsMessenger


def setup_teams(
    app: web.Application, core: Core, settings: Settings, *, auth: Any = None
) -> TeamsMessenger:
    """Mount ``POST /api/messages`` and return the messenger the outbox uses.

    Replies within turns and the outbox's deliveries share one connector session, closed
    when the app shuts down (after the delivery loop has stopped).
    """
    password = settings.teams_app_password
    if auth is None:
        auth = build_authentication(
            app_id=settings.teams_app_id,
            password=password.get_secret_value() if password else "",
            tenant_id=settings.teams_tenant_id,
        )
    quiet_trigger_warnings()
    connector = Connector()
    adapter = TeamsAdapter(auth, connector)
    adapter.on_turn_error = on_turn_error
    routes.mount(
        app,
        adapter,
        StaffSafetyBot(core),
        auth,
        local_mode=settings.teams_local_mode,
        seen_before=core.seen_before,
    )

    async def close_connector(_: web.Application) -> None:
        await connector.close()

    app.on_cleanup.append(close_connector)
    return TeamsMessenger(auth, app_id=settings.teams_app_id, connector=connector)
