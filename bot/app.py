"""The application factory: ``create_app(settings, **injected clients)`` -> aiohttp app.

Everything a process needs is built here and hung on the app, never in module globals, so
tests build as many apps as they like, each pointed at local fakes. Platforms are mounted
only when configured: Slack needs its token and signing secret; Teams always serves, in
local mode (no token check) when no app id is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.core import Core
from bot.delivery import DeliveryLoop
from bot.messaging import Messenger
from bot.metrics import Metrics
from bot.model import Platform
from bot.policy import PolicyPack, load_default_pack, load_pack
from bot.reminders.scheduler import ReminderLoop
from bot.storage.checkpoints import Checkpointer
from bot.storage.engine import checkpointer_for, create_engine, session_factory
from bot.storage.files import FileStore
from bot.storage.migrate import is_current

log = logging.getLogger(__name__)

CORE = web.AppKey("core", Core)
DELIVERY = web.AppKey("delivery", DeliveryLoop)
METRICS = web.AppKey("metrics", Metrics)
FILES = web.AppKey("files", FileStore)
REMINDERS = web.AppKey("reminders", ReminderLoop)
CHECKPOINTER = web.AppKey("checkpointer", Checkpointer)  # on a SQLite file only


def load_policy(settings: Settings) -> PolicyPack:
    """The pack named by ``BOT_POLICY_PACK``, or the built-in one from the seeds."""
    return load_pack(settings.bot_policy_pack) if settings.bot_policy_pack else load_default_pack()


def create_app(
    settings: Settings,
    *,
    pack: PolicyPack | None = None,
    slack_client: Any = None,
    teams_auth: Any = None,
    clock: Callable[[], dt.datetime] | None = None,
    run_delivery: bool = True,
) -> web.Application:
    """Build the bot's web application.

    Args:
        settings: configuration (see ``bot.config``).
        pack: the policy pack; read from ``settings`` when not given.
        slack_client: a slack-sdk ``AsyncWebClient`` to use instead of building one.
        teams_auth: a Bot Framework authentication to use instead of building one.
        clock: the current UTC time for cases and reminders, for tests. The outbox keeps
            real time: its rows are stamped when queued with the wall clock, so delivery
            claims them by the wall clock too.
        run_delivery: run the outbox delivery loop in this process.
    """
    metrics = Metrics()
    app = web.Application(middlewares=[metrics.middleware], client_max_size=64 * 1024 * 1024)
    cipher = settings.data_cipher()
    engine = create_engine(settings.database_url, cipher=cipher)
    db = session_factory(engine)
    files = FileStore(settings.bot_file_store, cipher=cipher)
    core = Core(pack=pack or load_policy(settings), db=db, files=files)
    if clock is not None:
        core.clock = clock
    messengers: dict[Platform, Messenger] = {}
    _mount_slack(app, core, settings, slack_client, messengers)
    _mount_teams(app, core, settings, teams_auth, messengers)
    delivery = DeliveryLoop(db=db, messengers=messengers)
    core.on_queued = delivery.wake
    reminder_loop = ReminderLoop(
        db=db, pack=core.pack, clock=lambda: core.clock(), on_queued=delivery.wake
    )
    app[REMINDERS] = reminder_loop
    app[CORE], app[DELIVERY], app[METRICS] = core, delivery, metrics
    app[FILES] = files
    _mount_health(app, engine, metrics)
    storage: list[Checkpointer] = []
    if (checkpointer := checkpointer_for(engine)) is not None:
        app[CHECKPOINTER] = checkpointer
        storage.append(checkpointer)
    app.cleanup_ctx.append(_lifecycle(engine, [delivery, reminder_loop], run_delivery, storage))
    return app


def _mount_slack(
    app: web.Application,
    core: Core,
    settings: Settings,
    client: Any,
    messengers: dict[Platform, Messenger],
) -> None:
    if not settings.slack_enabled and client is None:
        return
    from bot.handlers.slack.setup import setup_slack

    messengers[Platform.SLACK] = setup_slack(app, core, settings, client=client)


def _mount_teams(
    app: web.Application,
    core: Core,
    settings: Settings,
    auth: Any,
    messengers: dict[Platform, Messenger],
) -> None:
    from bot.handlers.teams.setup import setup_teams

    messengers[Platform.TEAMS] = setup_teams(app, core, settings, auth=auth)


def _mount_health(app: web.Application, engine: Any, metrics: Metrics) -> None:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            current = await is_current(engine)
        except Exception as error:  # the database is down: not ready, and say why
            return web.json_response(
                {"status": "database unreachable", "error": type(error).__name__}, status=503
            )
        if not current:
            return web.json_response({"status": "migrations pending"}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)


async def _let_listeners_finish(grace_seconds: float = 5.0) -> None:
    """Give work that listeners run after their ``ack`` a moment to finish before the
    database closes, so a shutdown never cuts a transaction in half."""
    current = asyncio.current_task()
    running = [
        t
        for t in asyncio.all_tasks()
        if t is not current
        and not t.done()
        and "slack_bolt" in getattr(getattr(t.get_coro(), "cr_code", None), "co_filename", "")
    ]
    if running:
        await asyncio.wait(running, timeout=grace_seconds)


def _lifecycle(
    engine: Any,
    loops: list[DeliveryLoop | ReminderLoop],
    run_loops: bool,
    storage: list[Checkpointer],
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """Run the loops (``run_loops``) and the storage's own background work while the app
    serves; on the way out, let each finish what it has in hand, then close the database."""

    @contextlib.asynccontextmanager
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        delivery = app[DELIVERY]
        app[METRICS].gauges["bot_outbox_delivered_total"] = lambda: float(delivery.delivered)
        app[METRICS].gauges["bot_reminders_fired_total"] = lambda: float(app[REMINDERS].fired)
        tasks = [asyncio.create_task(loop.run()) for loop in loops] if run_loops else []
        behind = [asyncio.create_task(work.run()) for work in storage]
        try:
            yield
        finally:
            # A pass cut off mid-transaction would hang the database's close: let the
            # passes in hand finish (bounded), and only then cancel.
            for loop in loops:
                loop.stop()
            await _finish(tasks)
            await _let_listeners_finish()
            for work in storage:  # after the last write: its last checkpoint copies it all
                work.stop()
            await _finish(behind)
            await engine.dispose()

    return lifecycle


FINISH_SECONDS = 10.0  # how long shutdown waits for a background task to end by itself


async def _finish(tasks: list[asyncio.Task[None]]) -> None:
    """Wait up to :data:`FINISH_SECONDS` for ``tasks`` to end; cancel those still running."""
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=FINISH_SECONDS)
    for task in late:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
