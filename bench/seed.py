"""Seeded databases: reports written straight in with SQLAlchemy core, not through the flows.

Two kinds, both migrated SQLite files with rows as the bot writes them (case rows from the
register tests' ``case_row``, timelines chained with the bot's own ``event_hash``, senders
normalised and hashed with the register's key exactly as ``bot.cases.senders`` does):

* the **press** database: reports in state ``new`` whose triage card was posted (a
  ``posted_cards`` row), one slice for Slack and one for Teams, so that every benchmark
  press is a legal ``acknowledge`` and its card update is a ``chat.update`` (Slack) or an
  activity update (Teams);
* the **register**: 1,000,000 reports over two years in every state, with timelines,
  evidence records and sender hashes. Each names one sender from a pool of 200,000 (about
  five reports each, written in varied ways: ``@Name``, a profile link, ``name``); one in
  twenty also names one of 100 prolific senders (about 500 reports each), so a lookup may
  have hundreds of earlier reports to find. It is cached under ``data/bench/``, keyed by
  the schema's migration head, the row count and this layout's version.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.config import CACHE, SLACK_TRIAGE_CHANNEL, TEAMS_TRIAGE_CHANNEL
from bot.cases.cards import TRIAGE
from bot.cases.senders import digest, senders_in
from bot.cases.triage import TRIAGE_PURPOSE
from bot.model import ConversationRef, Platform
from bot.storage.migrate import head_revisions
from bot.storage.repos.events import GENESIS_HASH, event_hash
from bot.storage.repos.senders import KEY_NAME
from bot.storage.tables import (
    Case,
    CaseEvent,
    ChannelBinding,
    PostedCard,
    RegisterKey,
    SenderHash,
    StoredFile,
)
from tests.register.seeding import case_row, file_row, migrated

LAYOUT = 1  # bump when the rows written here change, so cached registers are rebuilt
CHUNK = 10_000
OCCASIONAL_SENDERS = 200_000
PROLIFIC_SENDERS = 100
REGISTER_START = datetime(2024, 1, 1, tzinfo=UTC)
STATES = ("new", "acknowledged", "escalated", "in_progress", "closed")
SLACK_PRESS_BASE = 10**9
TEAMS_PRESS_BASE = 2 * 10**9
ACTORS = {"submitted": ("slack:U0SECRET", "Private Person"), "routed": ("bot", "Staff Safety")}


@dataclass
class Rows:
    """Rows for one chunk, table by table."""

    tables: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: Any, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)


def timeline(case_id: str, steps: list[tuple[str, str | None, str, datetime]]) -> list[dict]:
    """Timeline rows for ``(event, from_state, to_state, at)`` steps, hash-chained."""
    rows, prev = [], GENESIS_HASH
    for seq, (event, before, after, at) in enumerate(steps, start=1):
        actor_key, actor_name = ACTORS.get(event, ("slack:U0TRIAGE", "Tri Age"))
        fields: dict[str, Any] = {
            "case_id": case_id,
            "seq": seq,
            "at": at,
            "actor_key": actor_key,
            "actor_name": actor_name,
            "event": event,
            "from_state": before,
            "to_state": after,
            "detail": {},
            "internal": event == "routed",
        }
        hashed = event_hash(prev_hash=prev, **fields)
        rows.append({**fields, "prev_hash": prev, "hash": hashed})
        prev = hashed
    return rows


def _sender_text(rng: random.Random) -> str:
    """One or two senders, written the varied ways reporters write them."""
    n = rng.randrange(OCCASIONAL_SENDERS)
    spelling = rng.choice((f"@Sender{n}", f"https://x.com/sender{n}", f"sender{n}"))
    if rng.random() < 0.05:
        spelling += f"\n@prolific{rng.randrange(PROLIFIC_SENDERS)}"
    return spelling


def _report(rows: Rows, key: bytes, number: int, at: datetime, state: str, senders: str) -> str:
    closed = at + timedelta(days=5) if state == "closed" else None
    case = case_row(number, at, state=state, closed_at=closed, senders=senders)
    steps: list[tuple[str, str | None, str, datetime]] = [
        ("submitted", None, "new", at),
        ("routed", "new", "new", at),
    ]
    if state != "new":
        steps.append(("acknowledge", "new", "acknowledged", at + timedelta(hours=3)))
    if closed is not None:
        steps.append(("close", "in_progress", "closed", closed))
    events = timeline(case["id"], steps)
    # The case row keeps the head of its timeline, as every append moves it on.
    rows.add(Case, {**case, "chain_seq": len(events), "chain_hash": events[-1]["hash"]})
    for row in events:
        rows.add(CaseEvent, row)
    for sender in senders_in(senders):
        values = {"case_id": case["id"], "digest": digest(key, sender), "created_at": at}
        rows.add(SenderHash, values)
    return str(case["id"])


def _write(engine: sa.Engine, chunks: Iterator[Rows]) -> None:
    for rows in chunks:
        with engine.begin() as connection:
            for table, values in rows.tables.items():
                connection.execute(sa.insert(table), values)


def _engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _: Any) -> None:
        # A throwaway file being filled: no need to survive a power cut half-way.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    return engine


def _register_key(engine: sa.Engine) -> bytes:
    key = secrets.token_hex(32)
    with engine.begin() as connection:
        connection.execute(sa.insert(RegisterKey), {"name": KEY_NAME, "key": key})
    return bytes.fromhex(key)


def register_path(rows: int, cache: Path = CACHE) -> Path:
    """Where the register of ``rows`` reports is cached for the current schema."""
    schema = "-".join(sorted(head_revisions()))
    return cache / f"register-{schema}-{rows}-v{LAYOUT}.db"


def register(rows: int, cache: Path = CACHE) -> Path:
    """The register with ``rows`` reports, seeded once and kept in ``cache``."""
    path = register_path(rows, cache)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink()
    migrated(building)
    engine = _engine(building)
    key = _register_key(engine)
    rng = random.Random(7)

    def chunks() -> Iterator[Rows]:
        for first in range(0, rows, CHUNK):
            chunk = Rows()
            for number in range(first, min(first + CHUNK, rows)):
                at = REGISTER_START + timedelta(minutes=number)
                state = STATES[number % len(STATES)]
                case_id = _report(chunk, key, number, at, state, _sender_text(rng))
                if number % 4 == 1:
                    for n in (2 * number, 2 * number + 1):
                        chunk.add(StoredFile, file_row(case_id, n, at))
            yield chunk

    try:
        _write(engine, chunks())
    finally:
        engine.dispose()
    building.rename(path)
    return path


@dataclass(frozen=True)
class PressCases:
    """The seeded reports to press: ``(case id, card message id)`` per platform."""

    slack: list[tuple[str, str]]
    teams: list[tuple[str, str]]


def triage_channel(platform: Platform, service_url: str) -> ConversationRef:
    """The triage channel on ``platform`` (Teams needs the connector's ``serviceUrl``)."""
    if platform is Platform.SLACK:
        return ConversationRef(Platform.SLACK, conversation_id=SLACK_TRIAGE_CHANNEL)
    return ConversationRef(
        Platform.TEAMS,
        conversation_id=TEAMS_TRIAGE_CHANNEL,
        service_url=service_url,
        tenant_id="tenant-1",
        bot_id="28:bot",
    )


def press_database(path: Path, count: int, service_url: str) -> PressCases:
    """A migrated database with ``count`` new reports per platform, cards posted.

    Args:
        path: the SQLite file to create.
        count: reports per platform.
        service_url: the Bot Framework connector the Teams cards were posted through.
    """
    migrated(path)
    engine = _engine(path)
    key = _register_key(engine)
    rng = random.Random(11)
    now = datetime.now(UTC) - timedelta(hours=1)
    cases = PressCases(slack=[], teams=[])
    slack_channel = triage_channel(Platform.SLACK, service_url)
    teams_channel = triage_channel(Platform.TEAMS, service_url)

    def chunks() -> Iterator[Rows]:
        for base, channel, found in (
            (SLACK_PRESS_BASE, slack_channel, cases.slack),
            (TEAMS_PRESS_BASE, teams_channel, cases.teams),
        ):
            for first in range(0, count, CHUNK):
                chunk = Rows()
                for n in range(first, min(first + CHUNK, count)):
                    case_id = _report(chunk, key, base + n, now, "new", _sender_text(rng))
                    message_id = f"1700000000.{n:06d}" if base == SLACK_PRESS_BASE else f"a-{n}"
                    chunk.add(PostedCard, _posted(case_id, channel, message_id, now))
                    found.append((case_id, message_id))
                yield chunk

    try:
        _write(engine, chunks())
    finally:
        engine.dispose()
    return cases


def _posted(case_id: str, channel: ConversationRef, message_id: str, at: datetime) -> dict:
    return {
        "case_id": case_id,
        "purpose": TRIAGE,  # the card's purpose: one triage card per case and channel
        "platform": channel.platform.value,
        "conversation_id": channel.conversation_id,
        "conversation": channel.to_json(),
        "message_id": message_id,
        "created_at": at,
        "updated_at": at,
    }


def bind_triage_channel(path: Path, platform: Platform, service_url: str) -> None:
    """Bind the platform's triage channel, as an administrator's ``bind abuse-triage`` does."""
    channel = triage_channel(platform, service_url)
    engine = _engine(path)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(ChannelBinding),
                {
                    "purpose": TRIAGE_PURPOSE,
                    "platform": platform.value,
                    "conversation_id": channel.conversation_id,
                    "conversation": channel.to_json(),
                    "bound_by": f"{platform.value}:U0ADMIN",
                    "bound_at": datetime.now(UTC),
                },
            )
    finally:
        engine.dispose()
