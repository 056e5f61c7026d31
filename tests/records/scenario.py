"""Helpers for the records tests: real reports and drafts made through the served bot, then
back-dated, and ways to look at everything the database and the file store hold.

Reports are submitted over the wire (signed Slack requests into ``create_app``, evidence
downloaded from the fake Slack API) with the e2e suites' helpers; managers close them
through :meth:`bot.core.Core.press`, the call every platform listener makes.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bot.actions import ActionName, ActionRef
from bot.model import Actor, Platform
from bot.storage.repos import cases, outbox, sessions
from bot.storage.repos.cases import CaseRow
from bot.storage.tables import Base, Case, FlowSession
from bot.storage.types import utcnow
from tests.e2e.test_cli import run
from tests.e2e.test_slack_wire import FULL_REPORT, open_report, submit
from tests.support.bot_fixtures import BotClient
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import slash_command_body

MANAGER = Actor(Platform.SLACK, "U0MANAGER", "Mina Manager")
SIX_YEARS_AGO = 2190 + 10  # days: past the default pack's abuse_report_closed_days
EVIDENCE_PAGE = 5  # FULL_REPORT's page index of the evidence files
_file_ids = itertools.count(1)

# The presses that take a report from new to closed, each with its form's answers.
TO_CLOSED: tuple[tuple[ActionName, dict[str, Any] | None], ...] = (
    (ActionName.CASE_ACKNOWLEDGE, None),
    (ActionName.CASE_ESCALATE, {"target": "communications_lead", "communications_lead.note": ""}),
    (ActionName.CASE_RECORD_ACTION, {"actions": ["screenshot_filed"], "note": ""}),
    (ActionName.CASE_CLOSE, {"outcome": "Sender blocked", "lessons_learned": "Brief earlier"}),
)


async def bind_triage(bot: BotClient) -> None:
    """Bind the abuse triage channel, so reports post (and update) cards there."""
    body = slash_command_body(
        "/staff-safety", user_id="U0ADMIN", text="bind abuse-triage", channel_id="C0TRIAGE"
    )
    assert "Done" in await (await bot.slack(body)).text()


async def upload_evidence(
    bot: BotClient, fake_slack: FakeSlack, view: dict[str, Any], files: dict[str, bytes], user: str
) -> dict[str, Any]:
    """Attach files on the evidence page; return the page after it once they are stored."""
    uploads = [
        fake_slack.add_file(f"F{next(_file_ids)}", name, data, "image/png")
        for name, data in files.items()
    ]
    updates = len(fake_slack.called("views.update"))
    await submit(bot, view, {"evidence": {"type": "file_input", "files": uploads}}, user)
    stored = (await fake_slack.wait_for("views.update", updates + 1))[-1].json_arg("view")
    return {**view, **stored}


async def walk_to_evidence(bot: BotClient, fake_slack: FakeSlack, user: str) -> dict[str, Any]:
    """Start a report as ``user`` and answer every page before the evidence."""
    view = await open_report(bot, fake_slack, user)
    for values in FULL_REPORT[:EVIDENCE_PAGE]:
        view = {**view, **(await submit(bot, view, values, user))["view"]}
    return view


async def report(
    bot: BotClient, fake_slack: FakeSlack, files: dict[str, bytes], user: str = "U0REPORTER"
) -> CaseRow:
    """Submit a whole report with ``files`` as evidence; return the case it opened."""
    async with bot.core.db() as s:
        before = {c.id for c in await cases.list(session=s, limit=1000)}
    view = await walk_to_evidence(bot, fake_slack, user)
    view = await upload_evidence(bot, fake_slack, view, files, user)
    for values in FULL_REPORT[EVIDENCE_PAGE + 1 :]:
        view = {**view, **(await submit(bot, view, values, user))["view"]}
    async with bot.core.db() as s:
        [opened] = [c for c in await cases.list(session=s, limit=1000) if c.id not in before]
    return opened


async def abandoned_draft(
    bot: BotClient, fake_slack: FakeSlack, user: str, files: dict[str, bytes]
) -> str:
    """A report left on the page after its evidence, with files attached; return its id."""
    view = await walk_to_evidence(bot, fake_slack, user)
    await upload_evidence(bot, fake_slack, view, files, user)
    async with bot.core.db() as s:
        draft = await sessions.get_open(
            session=s, platform="slack", user_id=user, flow="abuse_report"
        )
    assert draft is not None
    return draft.id


async def press_through(bot: BotClient, case: CaseRow, steps: Any = TO_CLOSED) -> CaseRow:
    """Press each button in turn as the triage manager; return the case afterwards."""
    for name, inputs in steps:
        async with bot.core.db() as s:
            current = await cases.get(session=s, case_id=case.id)
        assert current is not None
        ref = ActionRef(name, current.id, current.version)
        outcome = await bot.core.press(actor=MANAGER, ref=ref, inputs=inputs)
        assert outcome.message is None and not outcome.errors, outcome
    async with bot.core.db() as s:
        final = await cases.get(session=s, case_id=case.id)
    assert final is not None
    return final


async def back_date(
    bot: BotClient, *, case_id: str | None = None, draft_id: str | None = None, days: int
) -> datetime:
    """Move a closed case's ``closed_at`` or a draft's ``updated_at`` ``days`` into the past.

    Neither is part of the hash chain, so this is how time passes for the audit too.
    """
    when = utcnow() - timedelta(days=days)
    async with bot.core.db.begin() as s:
        if case_id is not None:
            await s.execute(update(Case).where(Case.id == case_id).values(closed_at=when))
        if draft_id is not None:
            await s.execute(
                update(FlowSession).where(FlowSession.id == draft_id).values(updated_at=when)
            )
    return when


async def delivered(bot: BotClient) -> None:
    """Wait (bounded) until the delivery loop has sent everything queued."""
    for _ in range(500):
        async with bot.core.db() as s:
            if await outbox.pending_count(session=s) == 0:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox never emptied")


def dump(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite database, as stored."""
    with sqlite3.connect(database) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return {t: sorted(connection.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def mentions(database: Path, *needles: str) -> dict[str, int]:
    """How many rows of each table contain any of ``needles`` anywhere in them."""
    found: dict[str, int] = {}
    for table, rows in dump(database).items():
        count = sum(1 for row in rows if any(n in repr(row) for n in needles))
        if count:
            found[table] = count
    return found


def stored_as(data: bytes) -> str:
    """The file store's path for this content (content-addressed by SHA-256)."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


async def mentioned_in(bot: BotClient, *needles: str) -> dict[str, int]:
    """Like :func:`mentions`, on any backend: rows of each table containing ``needles``."""
    found: dict[str, int] = {}
    async with bot.core.db() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(select(table))).all()
            count = sum(1 for row in rows if any(n in repr(tuple(row)) for n in needles))
            if count:
                found[table.name] = count
    return found


def files_on_disk(root: Path) -> dict[str, bytes]:
    """Every file in the store, by path relative to its root."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


async def cli(*args: str, database: Path, store: Path, cwd: Path) -> Any:
    """``python -m bot …`` in a subprocess against ``database`` and ``store``.

    The subprocess is waited for in a thread: the served bot shares this event loop, and
    a loop blocked mid-transaction would hold SQLite's write lock against the command.
    """
    return await asyncio.to_thread(
        run,
        *args,
        cwd=cwd,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        BOT_FILE_STORE=str(store),
    )
