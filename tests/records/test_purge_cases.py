"""``purge`` on business cases, and when a purge must wait, is interrupted or races a press.

Business cases go through the whole Slack wire scenario (support, then the board's
decision); their decision time is on the hash-chained timeline, so instead of back-dating
it the purge is judged at a later ``now`` (the command itself always uses the real time).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.actions import ActionName
from bot.records import purge
from bot.records.audit import verify
from bot.records.hold import Operator, set_hold
from bot.records.retention import LIVE_PRESENCE, PACK_HOLD
from bot.storage.migrate import upgrade
from bot.storage.repos import cases, outbox, presences
from bot.storage.types import utcnow
from tests.e2e.test_slack_business_case import decide, supported, the_case
from tests.records.conftest import records_pack
from tests.records.scenario import (
    SIX_YEARS_AGO,
    back_date,
    bind_triage,
    cli,
    delivered,
    dump,
    files_on_disk,
    mentioned_in,
    mentions,
    press_through,
    report,
    stored_as,
)
from tests.support.bot_fixtures import BotClient, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack

OFFICER = Operator.at_command_line("records-officer")
DECIDED_DAYS = 2190  # the default pack's business_case_decided_days


def years_on(days: int) -> datetime:
    return utcnow() + timedelta(days=days)


async def test_a_rejected_case_goes_once_past_retention(
    bot: BotClient, fake_slack: FakeSlack, database: Path
) -> None:
    board = await supported(bot, fake_slack)
    comments = {"comments": {"type": "plain_text_input", "value": "Use the Knowledge Network"}}
    await decide(bot, fake_slack, board["Reject"], comments)
    case = await the_case(bot)
    assert case.state == "rejected"
    await delivered(bot)
    retention = bot.core.pack.retention

    assert (await purge.plan(bot.core.db, retention, years_on(DECIDED_DAYS - 1))).due == []
    before = dump(database)
    plan = await purge.plan(bot.core.db, retention, years_on(DECIDED_DAYS + 1))
    [due] = plan.due
    assert (due.reference, due.kind, due.ended) == (case.reference, "business_case", "decided")
    assert dump(database) == before, "planning changes nothing"
    frozen = retention.model_copy(update={"legal_hold": True})
    held = await purge.plan(bot.core.db, frozen, years_on(DECIDED_DAYS + 1))
    assert held.due == [] and [c.kept for c in held.kept] == [PACK_HOLD]

    run = await purge.apply(
        bot.core.db, bot.core.files, retention, years_on(DECIDED_DAYS + 1), OFFICER
    )
    assert [(r.reference, r.kind, r.purged_by) for r in run.purged] == [
        (case.reference, "business_case", "cli:records-officer")
    ]
    # Its versions, timeline, cards, the support request and the decision sent by direct
    # message (queued with the case only in their dedupe keys): all gone.
    assert mentions(database, case.id, case.reference) == {"purge_log": 1}
    audit = await verify(bot.core.db)
    assert audit.breaks == [] and audit.purged == 1 and audit.cases == 0


async def test_an_approved_case_stays_while_its_presence_is_on_the_register(
    bot: BotClient, fake_slack: FakeSlack, database: Path
) -> None:
    board = await supported(bot, fake_slack)
    form = {
        "comments": {"type": "plain_text_input", "value": "Approved"},
        "name_or_url": {"type": "plain_text_input", "value": "https://x.com/trainees"},
    }
    await decide(bot, fake_slack, board["Approve"], form)
    case = await the_case(bot)
    await delivered(bot)
    later = years_on(DECIDED_DAYS + 400)
    plan = await purge.plan(bot.core.db, bot.core.pack.retention, later)
    assert plan.due == [] and [(c.reference, c.kept) for c in plan.kept] == [
        (case.reference, LIVE_PRESENCE)
    ]
    before = dump(database)
    run = await purge.apply(bot.core.db, bot.core.files, bot.core.pack.retention, later, OFFICER)
    assert run.purged == [] and dump(database) == before
    async with bot.core.db() as s:
        assert await presences.for_case(session=s, case_id=case.id) is not None


async def test_a_purge_interrupted_before_its_files_is_finished_by_the_next_run(
    bot: BotClient, fake_slack: FakeSlack, database: Path, store: Path, tmp_path: Path
) -> None:
    content = b"evidence of an interrupted purge"
    case = await press_through(bot, await report(bot, fake_slack, {"shot.png": content}))
    await back_date(bot, case_id=case.id, days=SIX_YEARS_AGO)
    await delivered(bot)
    retention, now = bot.core.pack.retention, utcnow()
    [due] = (await purge.plan(bot.core.db, retention, now)).due
    # The deleting transaction commits; the process stops before it reaches the files.
    row, _ = await purge.purge_one(bot.core.db, retention, now, due, OFFICER)
    assert row is not None and row.pending_files == [stored_as(content)]
    assert stored_as(content) in files_on_disk(store)
    assert mentions(database, case.id) == {}

    dry = await cli("purge", "--dry-run", database=database, store=store, cwd=tmp_path)
    assert "1 earlier purge still to remove files from the store." in dry.stdout
    assert stored_as(content) in files_on_disk(store), "a dry run removes nothing"
    applied = await cli("purge", "--apply", database=database, store=store, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "1 file removed from the file store" in applied.stdout
    assert stored_as(content) not in files_on_disk(store)
    [logged] = dump(database)["purge_log"]
    assert logged[7] == "[]" and logged[8] is not None, "finished and marked so"


async def test_a_report_reopened_after_the_plan_is_not_purged(
    bot: BotClient, fake_slack: FakeSlack
) -> None:
    case = await press_through(bot, await report(bot, fake_slack, {"r.png": b"reopened"}))
    await back_date(bot, case_id=case.id, days=SIX_YEARS_AGO)
    retention, now = bot.core.pack.retention, utcnow()
    [due] = (await purge.plan(bot.core.db, retention, now)).due
    await press_through(bot, case, [(ActionName.CASE_REOPEN, None)])
    row, why = await purge.purge_one(bot.core.db, retention, now, due, OFFICER)
    assert row is None and "no longer past retention" in why
    async with bot.core.db() as s:
        assert await cases.get(session=s, case_id=case.id) is not None


@pytest.fixture
async def quiet_bot(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[BotClient]:
    """The bot without its delivery loop: queued messages stay queued until claimed."""
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, records_pack(), run_delivery=False) as client:
        yield client


async def test_a_case_whose_message_is_being_sent_waits_for_the_next_run(
    quiet_bot: BotClient, fake_slack: FakeSlack, database: Path
) -> None:
    bot = quiet_bot
    case = await press_through(bot, await report(bot, fake_slack, {"q.png": b"queued"}))
    await back_date(bot, case_id=case.id, days=SIX_YEARS_AGO)
    async with bot.core.db.begin() as s:  # another replica is sending its messages right now
        leased = await outbox.claim_due(
            session=s, now=utcnow(), worker_id="replica-2", limit=100, lease_seconds=1.0
        )
    assert leased, "the report queued messages"
    retention = bot.core.pack.retention
    run = await purge.apply(bot.core.db, bot.core.files, retention, utcnow(), OFFICER)
    [(deferred, why)] = run.deferred
    assert run.purged == [] and deferred.reference == case.reference and "being sent" in why
    await asyncio.sleep(1.1)  # the lease runs out: that replica has stopped
    run = await purge.apply(bot.core.db, bot.core.files, retention, utcnow(), OFFICER)
    assert [r.reference for r in run.purged] == [case.reference]
    assert mentions(database, case.id) == {}, "its unsent messages went with it"


async def test_purge_and_hold_on_postgresql(
    fresh_postgres_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    await upgrade(fresh_postgres_url)
    settings = slack_settings(fresh_postgres_url, fake_slack, tmp_path)
    async with serve_bot(settings, records_pack()) as bot:
        await bind_triage(bot)
        due = await press_through(bot, await report(bot, fake_slack, {"p.png": b"on postgres"}))
        held = await press_through(bot, await report(bot, fake_slack, {"h.png": b"held"}))
        for case in (due, held):
            await back_date(bot, case_id=case.id, days=SIX_YEARS_AGO)
        change = await set_hold(
            bot.core.db, reference=held.reference, on=True, reason="Inquiry", by=OFFICER
        )
        assert change.changed
        await delivered(bot)
        retention = bot.core.pack.retention
        run = await purge.apply(bot.core.db, bot.core.files, retention, utcnow(), OFFICER)
        assert [r.reference for r in run.purged] == [due.reference]
        assert [c.reference for c in run.kept] == [held.reference]
        assert await mentioned_in(bot, due.id) == {}
        assert await mentioned_in(bot, due.reference) == {"purge_log": 1}
        assert stored_as(b"on postgres") not in files_on_disk(bot.core.files.root)
        assert stored_as(b"held") in files_on_disk(bot.core.files.root)
        audit = await verify(bot.core.db)
        assert audit.breaks == [] and (audit.cases, audit.purged) == (1, 1)
