"""The floors on the bot's stack: each job's least work, done through the libraries it must use.

The floors (:mod:`bench.floors`) show what this machine allows with no framework at all. The
bot, though, is built on slack-bolt, SQLAlchemy's asyncio extension and slack-sdk's Web API
client (Slack), and on botbuilder's adapter, ``TurnContext`` and ``ActivityHandler`` (Teams),
as the brief requires. These servers do the same least work as the floors through those
libraries, set up as the bot sets them up (its SQLite engine, its Teams adapter, connector and
activity reader), and nothing else: no policy, no pages or rendering, no sealed columns, no
audit trail's hash chain, no access log. Statements go through SQLAlchemy's lightest asyncio
path, a Core connection (``engine.begin()``), not the ORM session the bot uses, which costs
about 50 us more a transaction. A job's ratio for its stack floor is therefore the
most an implementation on this stack reaches here: a target above it is out of reach without
leaving the stack, and the gap between it and the bot is what the bot's own work costs.

``python -m bench.stack_floors slash|press|teams_message|teams_press --port N --database F``
serves one of (``--cases`` names the cases to press, one id a line, for the presses):

* ``slash``: a slack-bolt ``AsyncApp`` set up as the peer is (signature checked, ``auth.test``
  once); its ``/report-abuse`` listener acks, stores a new draft (one INSERT in a
  transaction) and opens a fixed modal (``views_open`` on slack-sdk's ``AsyncWebClient``);
* ``press``: the same app; its action listener acks, then in one transaction makes the
  case's versioned UPDATE, a timeline INSERT and an outbox INSERT (as :mod:`bench.floors`'s
  press does with sqlite3); a background task then sends the card update (``chat_update``)
  and marks the outbox row sent in a second transaction;
* ``teams_message``: the activity read by the bot's reader, the turn run by the bot's
  ``TeamsAdapter`` (botbuilder's ``CloudAdapter``; local mode, no token check) and an
  ``ActivityHandler`` that stores a new draft and replies with a fixed Adaptive Card
  (``TurnContext.send_activity``);
* ``teams_press``: the same adapter; ``on_adaptive_card_invoke`` runs the press's transaction
  and answers with a fixed card saying who acknowledged it; a background task then posts the
  case's notice to the conversation through the connector and marks the outbox row sent.

Every server answers ``GET /healthz``. Nothing is logged per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine
from contextlib import closing
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.config import BOT_TOKEN, SIGNING_SECRET
from bench.floors import ADAPTIVE_CARD, CARD, MODAL, open_database, seed
from bot.storage.engine import create_engine

log = logging.getLogger("bench.stack_floors")
Deliver = Callable[[int, dict[str, Any]], Coroutine[Any, Any, None]]

METADATA = MetaData()
DRAFTS = Table(
    "drafts",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("person", String, nullable=False),
    Column("flow", String, nullable=False),
    Column("answers", String, nullable=False),
    Column("created_at", Float, nullable=False),
)
CASES = Table(
    "cases",
    METADATA,
    Column("id", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float),
)
CASE_EVENTS = Table(
    "case_events",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("case_id", String, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", Float, nullable=False),
)
OUTBOX = Table(
    "outbox",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("case_id", String, nullable=False),
    Column("method", String, nullable=False),
    Column("body", String, nullable=False),
    Column("status", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
)
DRAFT_DDL = (
    "CREATE TABLE drafts (id INTEGER PRIMARY KEY, person TEXT NOT NULL, flow TEXT NOT NULL, "
    "answers TEXT NOT NULL, created_at REAL NOT NULL)"
)

# Built once, as the bot builds its hot statements (SQLAlchemy caches their compiled form).
NEW_DRAFT = insert(DRAFTS)
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


def open_engine(database: Path, *, cases: list[str] | None) -> AsyncEngine:
    """A fresh database and the bot's engine on it: for the presses
    (``cases`` given), the cases at version 1, ``new``; otherwise the drafts' table."""
    with closing(open_database(database)) as db:
        if cases is None:
            db.execute(DRAFT_DDL)
        else:
            seed(db, cases)
    return create_engine(f"sqlite+aiosqlite:///{database}")


async def new_draft(engine: AsyncEngine, person: str) -> None:
    """A report's draft, stored before its first page is shown."""
    async with engine.begin() as connection:
        await connection.execute(
            NEW_DRAFT,
            {"person": person, "flow": "report_abuse", "answers": "{}", "created_at": time.time()},
        )


async def acknowledge(
    engine: AsyncEngine, case_id: str, version: int, actor: str, message: dict[str, Any]
) -> int:
    """The press's transaction; the outbox row's id, or 0 when the press was stale."""
    now = time.time()
    async with engine.begin() as connection:
        moved = await connection.execute(
            ACKNOWLEDGE, {"case_id": case_id, "seen_version": version, "now": now}
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return 0
        event = {"case_id": case_id, "seq": version + 1, "event": "acknowledge"}
        await connection.execute(NEW_EVENT, {**event, "actor": actor, "at": now})
        body = json.dumps(message)
        row = {"case_id": case_id, "method": "card", "body": body, "status": "pending"}
        outbox = await connection.execute(NEW_OUTBOX, {**row, "created_at": now})
        return int(outbox.scalar_one())


def in_background(deliver: Deliver) -> Callable[[int, dict[str, Any]], None]:
    """Start ``deliver(outbox id, message)`` after the answer; kept until done."""
    sending: set[asyncio.Task[None]] = set()

    def start(outbox: int, message: dict[str, Any]) -> None:
        task = asyncio.create_task(deliver(outbox, message))
        sending.add(task)
        task.add_done_callback(sending.discard)

    return start


async def mark_sent(engine: AsyncEngine, outbox: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(SENT, {"outbox_id": outbox, "now": time.time()})


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def slack_app(slack_api_url: str, engine: AsyncEngine) -> web.Application:
    """bolt's app as the peer sets it up, with the slash command's and the press's least work."""
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url)
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    async def deliver(outbox: int, message: dict[str, Any]) -> None:
        await client.chat_update(**message)
        await mark_sent(engine, outbox)

    send_later = in_background(deliver)

    @bolt.command("/report-abuse")
    async def report_abuse(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await new_draft(engine, body["user_id"])
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @bolt.action(re.compile(r".+"))
    async def press(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _codec, _name, case_id, version = body["actions"][0]["value"].split("|")
        actor, container = body["user"]["id"], body["container"]
        text = f"Acknowledged by <@{actor}>"
        message = {
            "channel": container["channel_id"],
            "ts": container["message_ts"],
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
        outbox = await acknowledge(engine, case_id, int(version), actor, message)
        if outbox:
            send_later(outbox, message)

    app = bolt.web_app(path="/slack/events")
    app.router.add_get("/healthz", healthz)
    return app


def teams_app(engine: AsyncEngine) -> web.Application:
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
        await mark_sent(engine, outbox)

    send_later = in_background(deliver)

    class FloorBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await new_draft(engine, turn_context.activity.from_property.id)
            await turn_context.send_activity(reply)

        async def on_adaptive_card_invoke(
            self, turn_context: TurnContext, invoke_value: Any
        ) -> AdaptiveCardInvokeResponse:
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
            outbox = await acknowledge(engine, case_id, int(version), actor, notice)
            if outbox:
                send_later(outbox, notice)
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
    app.on_cleanup.append(close)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=["slash", "press", "teams_message", "teams_press"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", default="http://127.0.0.1:9/api/")
    parser.add_argument("--database", type=Path, required=True, help="a new SQLite file")
    parser.add_argument("--cases", type=Path, help="the presses: the case ids, one a line")
    options = parser.parse_args(argv)
    presses = options.name.endswith("press")
    if presses and options.cases is None:
        parser.error(f"{options.name} needs --cases")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    cases = options.cases.read_text(encoding="ascii").split() if presses else None
    engine = open_engine(options.database, cases=cases)
    if options.name.startswith("teams"):
        app = teams_app(engine)
    else:
        app = slack_app(options.slack_api_url, engine)
    app.on_cleanup.append(lambda _: engine.dispose())
    web.run_app(app, host="127.0.0.1", port=options.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
