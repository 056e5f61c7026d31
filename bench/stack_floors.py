"""The floors on the bot's stack: each job's least work, done through the libraries it must use.

The floors (:mod:`bench.floors`) show what this machine allows with no framework at all. The
bot, though, is built on slack-bolt, SQLAlchemy's asyncio extension and slack-sdk's Web API
client (Slack), and on botbuilder's adapter, ``TurnContext`` and ``ActivityHandler`` (Teams),
as the brief requires. These servers do the floors' steps, and nothing else, through those
libraries, each used the cheapest way it offers: no policy, no draft, no pages or rendering,
no sealed columns, no audit trail's hash chain, no access log. So a job's ratio for its stack
floor is about the most an implementation on those libraries reaches on this machine, and
the gap between it and the bot is what the bot's own work costs.

The cheapest way, in each library:

* slack-bolt: ``process_before_response=True``, so the listener runs inside the request and
  the answer goes when it returns: no polling for the ack, and never more work in hand than
  requests open (acks running ahead of the work would pile it up in memory);
* slack-sdk: one HTTP session kept for the server's life, and no debug text built that
  logging would not write (the bot's own Slack setup helpers);
* SQLAlchemy: one Core connection on the bot's SQLite engine, held for the server's life
  and taken in turn (an ``asyncio.Lock``), with the bot's WAL checkpointer beside it: no
  ORM session and no pool checkout a transaction;
* botbuilder: the bot's ``TeamsAdapter`` (botbuilder's ``CloudAdapter`` sending through
  one kept-alive connector session) and its activity reader (msrest's, planned once).

``python -m bench.stack_floors slash|press|teams_message|teams_press --port N`` serves one
of (the presses also take ``--database``, a new SQLite file, and ``--cases``, the case ids
to press, one a line):

* ``slash``: a slack-bolt ``AsyncApp`` (signature checked, ``auth.test`` once); its
  ``/report-abuse`` listener acks and opens a fixed modal (``views_open``);
* ``press``: the same app; its action listener acks, then in one transaction makes the
  case's versioned UPDATE, a timeline INSERT and an outbox INSERT (as :mod:`bench.floors`'s
  press does with sqlite3); a background task then sends the card update (``chat_update``)
  and marks the outbox row sent in a second transaction;
* ``teams_message``: the activity read, the turn run by the adapter (local mode, no token
  check) and an ``ActivityHandler`` that replies with a fixed Adaptive Card
  (``TurnContext.send_activity``);
* ``teams_press``: the same adapter; ``on_adaptive_card_invoke`` runs the press's transaction
  and answers with a fixed card saying who acknowledged it; a background task then posts the
  case's notice to the conversation through the connector and marks the outbox row sent.

Every server answers ``GET /healthz``. Nothing is logged per request. At shutdown the
messages still being sent are waited for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, column, insert, table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.config import BOT_TOKEN, SIGNING_SECRET
from bench.floors import (
    ADAPTIVE_CARD,
    CARD,
    MODAL,
    Background,
    card_update,
    healthz,
    open_database,
    seed,
)
from bot.storage.engine import checkpointer_for, create_engine

# The press floor's tables (bench.floors.SCHEMA), named for SQLAlchemy's statements.
CASES = table("cases", *map(column, ("id", "state", "version", "updated_at")))
CASE_EVENTS = table("case_events", *map(column, ("case_id", "seq", "event", "actor", "at")))
OUTBOX = table(
    "outbox",
    *map(column, ("id", "case_id", "method", "body", "status", "created_at", "sent_at")),
)

# Built once, as the bot builds its hot statements (SQLAlchemy caches their compiled form).
ACKNOWLEDGE = (
    update(CASES)
    .where(
        CASES.c.id == bindparam("case_id"),
        CASES.c.version == bindparam("seen_version"),
        CASES.c.state == "new",
    )
    .values(state="acknowledged", version=CASES.c.version + 1, updated_at=bindparam("now"))
)
NEW_EVENT = insert(CASE_EVENTS)
NEW_OUTBOX = insert(OUTBOX).returning(OUTBOX.c.id)
SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("outbox_id"))
    .values(status="sent", sent_at=bindparam("now"))
)


class Store:
    """The presses' database: one connection of the bot's engine, held and taken in turn."""

    def __init__(self, database: Path, cases: list[str]) -> None:
        with closing(open_database(database)) as db:
            seed(db, cases)
        self._engine = create_engine(f"sqlite+aiosqlite:///{database}")
        checkpointer = checkpointer_for(self._engine)
        assert checkpointer is not None, "a SQLite file has its checkpointer"
        self._checkpointer = checkpointer
        self._connection: AsyncConnection | None = None
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """The connection, in a transaction of its own (committed unless it raises)."""
        assert self._connection is not None, "the store is not open"
        async with self._turn, self._connection.begin():
            yield self._connection

    async def serving(self, _app: web.Application) -> AsyncIterator[None]:
        """Open for the server's life (an aiohttp cleanup context), the checkpointer beside."""
        async with self._engine.connect() as connection:
            self._connection = connection
            checkpoints = asyncio.create_task(self._checkpointer.run())
            try:
                yield
            finally:
                self._checkpointer.stop()
                await checkpoints
        await self._engine.dispose()

    async def acknowledge(
        self, case_id: str, version: int, actor: str, message: dict[str, Any]
    ) -> int:
        """The press's transaction; the outbox row's id, or 0 when the press was stale."""
        now = time.time()
        async with self.transaction() as connection:
            moved = await connection.execute(
                ACKNOWLEDGE, {"case_id": case_id, "seen_version": version, "now": now}
            )
            if moved.rowcount != 1:
                return 0
            event = {"case_id": case_id, "seq": version + 1, "event": "acknowledge"}
            await connection.execute(NEW_EVENT, {**event, "actor": actor, "at": now})
            row = {"case_id": case_id, "method": "card", "body": json.dumps(message)}
            outbox = await connection.execute(
                NEW_OUTBOX, {**row, "status": "pending", "created_at": now}
            )
            return int(outbox.scalar_one())

    async def mark_sent(self, outbox: int) -> None:
        async with self.transaction() as connection:
            await connection.execute(SENT, {"outbox_id": outbox, "now": time.time()})


def slack_app(slack_api_url: str, store: Store | None) -> web.Application:
    """bolt's app with the slash command's least work, and the press's given a store."""
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.handlers.slack.setup import no_unwritten_debug_messages, one_session_for

    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url)
    no_unwritten_debug_messages(client)
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @bolt.command("/report-abuse")
    async def report_abuse(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    app = bolt.web_app(path="/slack/events")
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(one_session_for(client))
    if store is not None:
        app.cleanup_ctx.append(store.serving)
        _press_listener(bolt, client, store, app)
    return app


def _press_listener(bolt: Any, client: Any, store: Store, app: web.Application) -> None:
    """The press: its transaction before the answer, the card update after it."""
    from slack_bolt.async_app import AsyncAck

    async def deliver(outbox: int, message: dict[str, Any]) -> None:
        await client.chat_update(**message)
        await store.mark_sent(outbox)

    background = Background(deliver)
    app.on_shutdown.append(background.finish)

    @bolt.action(re.compile(r".+"))
    async def press(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _codec, _name, case_id, version = body["actions"][0]["value"].split("|")
        actor, container = body["user"]["id"], body["container"]
        message = card_update(container["channel_id"], container["message_ts"], actor)
        outbox = await store.acknowledge(case_id, int(version), actor, message)
        if outbox:
            background.start(outbox, message)


def teams_app(store: Store | None) -> web.Application:
    """The bot's Teams adapter and reader, and a handler with the least work of each job."""
    from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
    from botbuilder.schema import AdaptiveCardInvokeResponse

    from bot.handlers.teams.adapter import TeamsAdapter
    from bot.handlers.teams.auth import build_authentication
    from bot.handlers.teams.bot import quiet_trigger_warnings
    from bot.handlers.teams.connector import Connector
    from bot.handlers.teams.serialize import activity_from_json

    quiet_trigger_warnings()  # msrest warns of Teams' "trigger" on every press, as the bot
    auth = build_authentication(app_id="", password="", tenant_id="")
    connector = Connector()
    adapter = TeamsAdapter(auth, connector)
    reply = MessageFactory.attachment(CardFactory.adaptive_card(CARD))

    async def deliver(outbox: int, message: dict[str, Any]) -> None:
        await connector.send_to_conversation(
            message["serviceUrl"], message["conversation"]["id"], message, credentials=None
        )
        assert store is not None
        await store.mark_sent(outbox)

    background = Background(deliver)

    class FloorBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(reply)

        async def on_adaptive_card_invoke(
            self, turn_context: TurnContext, invoke_value: Any
        ) -> AdaptiveCardInvokeResponse:
            assert store is not None, "teams_press needs its store"
            activity = turn_context.activity
            data = activity.value["action"]["data"]
            _codec, _name, case_id, version = str(data["action"]).split("|")
            actor = activity.from_property.id
            text = f"Acknowledged by {activity.from_property.name or actor}"
            notice = {
                "type": "message",
                "text": text,
                "serviceUrl": activity.service_url,
                "conversation": {"id": activity.conversation.id},
            }
            outbox = await store.acknowledge(case_id, int(version), actor, notice)
            if outbox:
                background.start(outbox, notice)
            card = {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [{"type": "TextBlock", "text": text}],
            }
            return AdaptiveCardInvokeResponse(
                status_code=int(HTTPStatus.OK), type=ADAPTIVE_CARD, value=card
            )

    bot = FloorBot()

    async def messages(request: web.Request) -> web.Response:
        activity = activity_from_json(await request.json())
        header = request.headers.get("Authorization", "")
        response = await adapter.process_activity(header, activity, bot.on_turn)
        if response is None:
            return web.Response(status=HTTPStatus.CREATED)
        return web.json_response(response.body, status=response.status)  # serialised by then

    async def close(_: web.Application) -> None:
        await connector.close()

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    if store is not None:
        app.cleanup_ctx.append(store.serving)
        app.on_shutdown.append(background.finish)
    app.on_cleanup.append(close)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=["slash", "press", "teams_message", "teams_press"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", default="http://127.0.0.1:9/api/")
    parser.add_argument("--database", type=Path, help="the presses: a new SQLite file")
    parser.add_argument("--cases", type=Path, help="the presses: the case ids, one a line")
    options = parser.parse_args(argv)
    presses = options.name.endswith("press")
    if presses and (options.database is None or options.cases is None):
        parser.error(f"{options.name} needs --database and --cases")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    store = None
    if presses:
        store = Store(options.database, options.cases.read_text(encoding="ascii").split())
    if options.name.startswith("teams"):
        app = teams_app(store)
    else:
        app = slack_app(options.slack_api_url, store)
    web.run_app(app, host="127.0.0.1", port=options.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
