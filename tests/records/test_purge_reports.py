"""``purge`` on abuse reports and drafts made through the served bot, as an operator runs it.

Reports are submitted over the wire with evidence, closed by a manager, and their closing
back-dated past the pack's six years; one of them is put on legal hold with ``hold``. The
commands run as subprocesses against the same database and file store while the bot is
still serving: a dry run changes nothing at all; ``--apply`` deletes exactly what is due,
rows and files, keeps what is held, open or recent, and leaves a purge log that ``audit
verify`` accepts.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.repos import cases, events
from tests.records.scenario import (
    SIX_YEARS_AGO,
    abandoned_draft,
    back_date,
    bind_triage,
    cli,
    delivered,
    dump,
    files_on_disk,
    mentions,
    press_through,
    report,
    stored_as,
)
from tests.support.bot_fixtures import BotClient
from tests.support.fake_slack import FakeSlack

SHARED = b"screenshot shared by two reports"


async def test_dry_run_then_apply_on_reports_and_drafts(
    bot: BotClient, fake_slack: FakeSlack, database: Path, store: Path, tmp_path: Path
) -> None:
    await bind_triage(bot)
    due = await report(bot, fake_slack, {"a.png": b"only in the old report", "b.png": SHARED})
    held = await report(bot, fake_slack, {"b.png": SHARED})
    still_open = await report(bot, fake_slack, {"c.png": b"open report"})
    recent = await report(bot, fake_slack, {"d.png": b"closed this week"})
    for case in (due, held, recent):
        await press_through(bot, case)
    old_draft = await abandoned_draft(bot, fake_slack, "U0DRAFTER", {"e.png": b"old draft"})
    new_draft = await abandoned_draft(bot, fake_slack, "U0OTHER", {"f.png": b"new draft"})
    closed_on = await back_date(bot, case_id=due.id, days=SIX_YEARS_AGO)
    await back_date(bot, case_id=held.id, days=SIX_YEARS_AGO)
    await back_date(bot, draft_id=old_draft, days=45)
    await delivered(bot)

    hold = await cli(
        "hold", held.reference, "--on", "--reason", "Claim pending", "--by", "legal",
        database=database, store=store, cwd=tmp_path,
    )  # fmt: skip
    assert hold.returncode == 0, hold.stderr
    assert f"{held.reference} is now on legal hold" in hold.stdout

    before, files_before = dump(database), files_on_disk(store)
    dry = await cli("purge", "--dry-run", database=database, store=store, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    listed, kept = dry.stdout.split("Kept although past retention:")
    shown_day = closed_on.astimezone(bot.core.pack.organisation.zone).date().isoformat()
    assert due.reference in listed and f"closed {shown_day}" in listed
    assert "abuse report" in listed and "2 files" in listed and f"draft {old_draft[:8]}" in listed
    assert held.reference in kept and "kept: legal hold" in kept
    for absent in (still_open.reference, recent.reference, new_draft[:8]):
        assert absent not in dry.stdout
    assert "1 case and 1 draft (3 files) would be purged; nothing was changed" in dry.stdout
    assert dump(database) == before and files_on_disk(store) == files_before, "dry run"

    applied = await cli(
        "purge", "--apply", "--by", "records-officer", database=database, store=store, cwd=tmp_path
    )
    assert applied.returncode == 0, applied.stderr
    assert "Purged 1 case and 1 draft (3 files); 2 files removed" in applied.stdout
    assert f"purged {due.reference} (abuse_report, closed" in applied.stderr, "the log line"

    # Nothing of the purged report or draft is left but the purge log's line.
    assert mentions(database, due.id, due.reference) == {"purge_log": 1}
    assert mentions(database, old_draft) == {"purge_log": 1}
    on_disk = files_on_disk(store)
    assert stored_as(b"only in the old report") not in on_disk
    assert stored_as(b"old draft") not in on_disk
    assert on_disk[stored_as(SHARED)] == SHARED, "still the held report's evidence"
    for kept_content in (b"open report", b"closed this week", b"new draft"):
        assert stored_as(kept_content) in on_disk

    log = {row[1]: row for row in dump(database)["purge_log"]}
    _, _, kind, logged_closed, _, file_count, by, pending, removed_at = log[due.reference]
    assert (kind, file_count, by, pending) == ("abuse_report", 2, "cli:records-officer", "[]")
    assert logged_closed.startswith(closed_on.date().isoformat()) and removed_at is not None
    assert log[old_draft][2:3] == ("flow_draft",) and log[old_draft][5] == 1

    async with bot.core.db() as s:
        for survivor in (held, still_open, recent):
            row = await cases.get(session=s, case_id=survivor.id)
            assert row is not None
            assert events.verify_chain(await events.timeline(session=s, case_id=survivor.id))
        timeline = await events.timeline(session=s, case_id=held.id)
    assert row is not None and (await _held(bot, held.id)) is True
    hold_event = timeline[-1]
    assert (hold_event.event, hold_event.internal) == ("legal_hold", True)
    assert hold_event.detail == {"on": True, "reason": "Claim pending"}
    assert hold_event.actor_key == "cli:legal"
    assert mentions(database, new_draft), "the recent draft stays"

    audit = await cli("audit", "verify", database=database, store=store, cwd=tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    count = await _event_count(bot)
    intact = f"3 cases, {count} events, chain intact (1 purged under the retention rules)"
    assert audit.stdout.strip() == intact
    one = await cli(
        "audit", "verify", "--case", due.reference, database=database, store=store, cwd=tmp_path
    )
    assert one.returncode == 0 and "was purged under the retention rules" in one.stdout

    again = await cli("purge", "--apply", database=database, store=store, cwd=tmp_path)
    assert "Purged 0 cases and 0 drafts (0 files)" in again.stdout


async def test_lifting_a_hold_lets_the_report_go(
    bot: BotClient, fake_slack: FakeSlack, database: Path, store: Path, tmp_path: Path
) -> None:
    case = await press_through(bot, await report(bot, fake_slack, {"x.png": b"held a while"}))
    await back_date(bot, case_id=case.id, days=SIX_YEARS_AGO)
    await delivered(bot)
    for switch, reason in (("--on", "Subject access request"), ("--off", "Request answered")):
        done = await cli(
            "hold", case.reference, switch, "--reason", reason,
            database=database, store=store, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    async with bot.core.db() as s:
        timeline = await events.timeline(session=s, case_id=case.id)
        current = await cases.get(session=s, case_id=case.id)
    assert [e.detail["on"] for e in timeline if e.event == "legal_hold"] == [True, False]
    assert current is not None and current.version == case.version, "cards keep working"
    refused = await cli(
        "hold",
        "AB-1999-0001",
        "--on",
        "--reason",
        "x",
        database=database,
        store=store,
        cwd=tmp_path,
    )
    assert refused.returncode == 1 and "No case with reference" in refused.stderr
    applied = await cli("purge", "--apply", database=database, store=store, cwd=tmp_path)
    assert case.reference in applied.stdout and "Purged 1 case" in applied.stdout
    assert mentions(database, case.id) == {}


async def _held(bot: BotClient, case_id: str) -> bool:
    async with bot.core.db() as s:
        row = await cases.get(session=s, case_id=case_id)
    return bool(row and row.legal_hold)


async def _event_count(bot: BotClient) -> int:
    async with bot.core.db() as s:
        return sum(
            [
                len(await events.timeline(session=s, case_id=c.id))
                for c in await cases.list(session=s, limit=1000)
            ]
        )
