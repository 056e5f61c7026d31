"""The floors: each measured job done with the least work it needs, as plainly as Python can.

A target such as "slash commands at 0.8x plain bolt" asks how fast the bot does a job next
to a peer that does almost none of it (bolt's listener only acknowledges). A floor does the
job itself, and nothing else: no framework, no policy, no rendering, no ORM, only the steps
no implementation can skip, on the same machine, with the same requests, against the same
fakes. Its ratio against the peer is therefore the ceiling: a bot that does the job can
come near it, not above it, so a target set above a floor's ratio is out of reach here for
any implementation, and the run shows that measured rather than argued.

``python -m bench.floors slash|press|teams_message --port N`` serves one of:

* ``slash``: verify the Slack signature (slack-sdk's ``SignatureVerifier``), parse the form,
  ``POST views.open`` with a small fixed modal and the command's ``trigger_id`` to the
  Slack Web API over one shared kept-alive ``aiohttp.ClientSession``, then answer 200;
* ``press``: verify the signature, parse the ``block_actions`` payload, then one durable
  write transaction with the stdlib ``sqlite3`` (WAL, ``synchronous=NORMAL`` as the bot
  sets them, ``BEGIN IMMEDIATE`` as the bot takes the lock): the case's versioned UPDATE,
  a timeline INSERT and an outbox INSERT, COMMIT; answer 200. After the answer a
  background task sends the card update (``chat.update``, its JSON stored in the outbox
  row) and marks the row sent. A press whose versioned UPDATE matches nothing (a repeat)
  is answered 200 and changes nothing. The cases (``--cases``: one id a line, at version
  1, state ``new``) are seeded into a fresh database (``--database``) before the server
  answers;
* ``teams_message``: decode the activity, ``POST`` one reply (a small fixed Adaptive Card)
  to the connector at the activity's ``serviceUrl``
  (``/v3/conversations/{id}/activities/{replyToId}``) over one shared session, then
  answer 200 (local mode, as the bot and the CloudAdapter peer are run: no token check).

Every floor answers ``GET /healthz``. Nothing is logged per request (``access_log=None``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bench.config import BOT_TOKEN, SIGNING_SECRET

log = logging.getLogger("bench.floors")
SESSION = web.AppKey("session", aiohttp.ClientSession)
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MODAL = {
    "type": "modal",
    "callback_id": "report",
    "title": {"type": "plain_text", "text": "Report abuse"},
    "submit": {"type": "plain_text", "text": "Next"},
    "blocks": [
        {
            "type": "input",
            "block_id": "what",
            "label": {"type": "plain_text", "text": "What happened?"},
            "element": {"type": "plain_text_input", "action_id": "what", "multiline": True},
        }
    ],
}
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "What happened?", "wrap": True}],
    "actions": [{"type": "Action.Execute", "title": "Next", "verb": "next"}],
}
SCHEMA = """
CREATE TABLE cases (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL, updated_at REAL
);
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases (id), seq INTEGER NOT NULL,
    event TEXT NOT NULL, actor TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, case_id TEXT NOT NULL, method TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, sent_at REAL
);
"""


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def with_session(app: web.Application) -> web.Application:
    """One kept-alive client session for the server's life, as ``app[SESSION]``."""

    async def session(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as shared:
            app[SESSION] = shared
            yield

    app.cleanup_ctx.append(session)
    app.router.add_get("/healthz", healthz)
    return app


def verified(verifier: SignatureVerifier, body: bytes, request: web.Request) -> bool:
    """True when ``body`` carries Slack's signature, made with the signing secret."""
    return verifier.is_valid(
        body,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
    )


async def slack_call(session: aiohttp.ClientSession, url: str, body: str) -> None:
    """One Web API call with a JSON body; a reply other than ``ok`` is logged."""
    headers = {
        "Authorization": f"Bearer {BOT_TOKEN}",
        "Content-Type": "application/json; charset=utf-8",
    }
    async with session.post(url, data=body, headers=headers) as response:
        reply = await response.json()
    if not reply.get("ok"):
        log.error("%s failed: %s", url, reply)


def slash_floor(slack_api_url: str) -> web.Application:
    """``/report-abuse``: verify, parse, open the modal, answer."""
    verifier = SignatureVerifier(SIGNING_SECRET)
    views_open = slack_api_url + "views.open"

    async def command(request: web.Request) -> web.Response:
        body = await request.read()
        if not verified(verifier, body, request):
            return web.Response(status=HTTPStatus.UNAUTHORIZED)
        form = parse_qs(body.decode())
        call = json.dumps({"trigger_id": form["trigger_id"][0], "view": MODAL})
        await slack_call(request.app[SESSION], views_open, call)
        return web.Response()

    app = web.Application()
    app.router.add_post("/slack/events", command)
    return with_session(app)


def open_database(path: Path) -> sqlite3.Connection:
    """The press floor's connection: autocommit (transactions are begun explicitly), WAL,
    ``synchronous=NORMAL``, foreign keys on, as the bot configures its connections."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def seed(db: sqlite3.Connection, case_ids: list[str]) -> None:
    """The schema and the cases to press, each ``new`` at version 1."""
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO cases (id, state, version) VALUES (?, 'new', 1)", ((c,) for c in case_ids)
    )
    db.execute("COMMIT")


def acknowledge(db: sqlite3.Connection, case_id: str, version: int, actor: str, card: str) -> int:
    """The press's transaction; the outbox row's id, or 0 when the press was stale."""
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    try:
        moved = db.execute(
            "UPDATE cases SET state = 'acknowledged', version = version + 1, updated_at = ? "
            "WHERE id = ? AND version = ? AND state = 'new'",
            (now, case_id, version),
        ).rowcount
        if moved != 1:
            db.execute("ROLLBACK")
            return 0
        db.execute(
            "INSERT INTO case_events (case_id, seq, event, actor, at) "
            "VALUES (?, ?, 'acknowledge', ?, ?)",
            (case_id, version + 1, actor, now),
        )
        outbox = db.execute(
            "INSERT INTO outbox (case_id, method, body, status, created_at) "
            "VALUES (?, 'chat.update', ?, 'pending', ?)",
            (case_id, card, now),
        ).lastrowid
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return outbox or 0


def card_update(channel: str, ts: str, actor: str) -> dict[str, Any]:
    """The ``chat.update`` arguments: the card, now showing who acknowledged it."""
    text = f"Acknowledged by <@{actor}>"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return {"channel": channel, "ts": ts, "text": text, "blocks": blocks}


class Background:
    """Messages sent after the answer: ``deliver(outbox id, message)``, kept until done."""

    def __init__(self, deliver: Callable[[int, Any], Coroutine[Any, Any, None]]) -> None:
        self._deliver = deliver
        self._sending: set[asyncio.Task[None]] = set()

    def start(self, outbox: int, message: Any) -> None:
        task = asyncio.create_task(self._deliver(outbox, message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def finish(self, _app: web.Application) -> None:
        """Wait for the messages still being sent (an ``on_shutdown`` hook)."""
        if self._sending:
            await asyncio.wait(self._sending, timeout=5)


def press_floor(slack_api_url: str, database: Path, case_ids: list[str]) -> web.Application:
    """ "Acknowledge": verify, parse, one transaction, answer; the card update after."""
    verifier = SignatureVerifier(SIGNING_SECRET)
    chat_update = slack_api_url + "chat.update"
    db = open_database(database)
    seed(db, case_ids)

    async def deliver(outbox: int, body: str) -> None:
        await slack_call(app[SESSION], chat_update, body)
        db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?", (time.time(), outbox)
        )

    background = Background(deliver)

    async def press(request: web.Request) -> web.Response:
        body = await request.read()
        if not verified(verifier, body, request):
            return web.Response(status=HTTPStatus.UNAUTHORIZED)
        payload = json.loads(parse_qs(body.decode())["payload"][0])
        _codec, _name, case_id, version = payload["actions"][0]["value"].split("|")
        actor = payload["user"]["id"]
        container = payload["container"]
        card = json.dumps(card_update(container["channel_id"], container["message_ts"], actor))
        outbox = acknowledge(db, case_id, int(version), actor, card)
        if outbox:
            background.start(outbox, card)
        return web.Response()

    async def close(_: web.Application) -> None:
        db.close()

    app = web.Application()
    app.router.add_post("/slack/events", press)
    app.on_shutdown.append(background.finish)  # before the session and the database close
    app.on_cleanup.append(close)
    return with_session(app)


def teams_message_floor() -> web.Application:
    """A Teams message: decode, reply with a card, answer."""
    attachment = {"contentType": ADAPTIVE_CARD, "content": CARD}

    async def message(request: web.Request) -> web.Response:
        activity = json.loads(await request.read())
        conversation = activity["conversation"]
        reply = {
            "type": "message",
            "from": activity["recipient"],
            "recipient": activity["from"],
            "conversation": conversation,
            "replyToId": activity["id"],
            "attachments": [attachment],
        }
        url = (
            f"{activity['serviceUrl'].rstrip('/')}/v3/conversations/{conversation['id']}"
            f"/activities/{activity['id']}"
        )
        async with request.app[SESSION].post(url, json=reply) as response:
            await response.read()
        if response.status >= 300:
            log.error("reply failed: %s", response.status)
            return web.Response(status=HTTPStatus.BAD_GATEWAY)
        return web.Response()

    app = web.Application()
    app.router.add_post("/api/messages", message)
    return with_session(app)


def build(options: argparse.Namespace) -> web.Application:
    """The floor the options name."""
    builders: dict[str, Callable[[], web.Application]] = {
        "slash": lambda: slash_floor(options.slack_api_url),
        "press": lambda: press_floor(
            options.slack_api_url,
            options.database,
            options.cases.read_text(encoding="ascii").split(),
        ),
        "teams_message": teams_message_floor,
    }
    return builders[options.name]()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=["slash", "press", "teams_message"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", default="http://127.0.0.1:9/api/")
    parser.add_argument("--database", type=Path, help="press: a new SQLite file")
    parser.add_argument("--cases", type=Path, help="press: the case ids, one a line")
    options = parser.parse_args(argv)
    if options.name == "press" and (options.database is None or options.cases is None):
        parser.error("press needs --database and --cases")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    app = build(options)
    web.run_app(app, host="127.0.0.1", port=options.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
