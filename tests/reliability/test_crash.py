"""Crash: ``kill -9`` the server, start it again, and check what was promised (issue 6).

``python -m bot serve`` runs as a process on a SQLite file and an evidence file store, its
Slack Web API a fake in this test process. The first test kills it in the middle of a
stream of reports (each with an evidence file) and presses: every report whose reporter
saw the receipt is then in the database with its file, intact; everything queued is
delivered after the restart; and any message delivered twice was one the platform had
accepted before the kill while its row was not yet marked sent (the README's window).

The second test shows that window is the only one, killing the server at each step of a
delivery, deterministically: the fake Slack holds the call forever, before or after
accepting the message, while the test kills the server.

* killed before Slack has the message: after the restart it is sent once;
* killed after Slack accepted a new card, before the row was marked: the card is posted
  again (the window: a second card in the channel);
* killed after Slack accepted a card update and a direct message, before their rows were
  marked: the update is applied again, in place (still one card, showing the latest
  state), and the direct message is sent again (the window).

Rows are marked sent in the same transaction that records a posted card's reference, so
there is no step between "reference stored" and "marked sent" to kill the server at.
(The 60-second lease of the dead process is ended by the test instead of waited for.)
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.actions import ActionName, ActionRef
from bot.storage.files import FileStore
from bot.storage.repos import cases, outbox
from bot.storage.repos import files as stored_files
from bot.storage.tables import OutboxMessage
from tests.e2e.test_slack_triage import press
from tests.reliability.conftest import Figures
from tests.reliability.ledger import Verdict, describe, drained, judge, window
from tests.reliability.serving import ServeProcess
from tests.reliability.wire import (
    SLACK_ADMIN,
    SLACK_TRIAGE,
    Site,
    eventually,
    slack_manager,
    slack_report,
    slack_reporter,
    the_case,
)
from tests.scaleout.replicas import write_pack
from tests.support.chaos import Chaos, Fault
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_signing import slash_command_body

MANAGERS = 40
REPORTERS_AT_ONCE = 3
TOLD_BEFORE_THE_KILL = 6


@pytest.fixture
async def server(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[ServeProcess]:
    pack = write_pack(
        tmp_path / "pack.yaml",
        triage_manager=[f"slack:{slack_manager(n)}" for n in range(MANAGERS)],
        admin=[f"slack:{SLACK_ADMIN}"],
    )
    process = ServeProcess(tmp_path, fake_slack, pack)
    try:
        yield process
    finally:
        for _, _, hold in fake_slack.holds:
            hold.release()
        await process.close()


async def bind(site: Site) -> None:
    body = slash_command_body(
        "/staff-safety", user_id=SLACK_ADMIN, text="bind abuse-triage", channel_id=SLACK_TRIAGE
    )
    assert "Done" in await (await site.slack(body)).text()


async def restart(server: ServeProcess) -> Site:
    """After a kill: the dead process's leases end, and ``serve`` starts again."""
    await server.let_leases_run_out()
    return await server.start()


# --- killed in the middle of a stream ---------------------------------------------------------


async def reporter(
    site: Site,
    fake_slack: FakeSlack,
    numbers: itertools.count[int],
    told: dict[str, bytes],
    tally: Counter[str],
) -> None:
    """Report after report, each with a file, acknowledging each, until the server dies."""
    while True:
        number = next(numbers)
        data = f"screenshot {number} ".encode() * 40
        file = fake_slack.add_file(f"F{number:04d}", f"shot{number}.png", data, "image/png")
        reference, seen = await slack_report(site, fake_slack, number, tally, evidence=[file])
        if seen:
            told[reference] = data  # the reporter was told "received"
        case = await the_case(site, reference)
        ref = ActionRef(ActionName.CASE_ACKNOWLEDGE, case.id, case.version)
        await press(site, slack_manager(number), ref.encode())


async def stream_until_killed(
    server: ServeProcess, site: Site, fake_slack: FakeSlack
) -> tuple[dict[str, bytes], Counter[str]]:
    told: dict[str, bytes] = {}
    tally: Counter[str] = Counter()
    numbers = itertools.count()
    workers = [
        asyncio.create_task(reporter(site, fake_slack, numbers, told, tally))
        for _ in range(REPORTERS_AT_ONCE)
    ]

    async def enough() -> bool:
        if any(w.done() and w.exception() for w in workers):
            await asyncio.gather(*workers)  # a worker failed before the kill: show why
        if len(told) < TOLD_BEFORE_THE_KILL:
            return False
        async with server.db() as s:  # and messages are waiting: the kill leaves work behind
            return await outbox.pending_count(session=s) > 0

    await eventually(enough, within=120, what=f"{TOLD_BEFORE_THE_KILL} receipts")
    await server.kill()
    for worker in workers:  # those mid-report never see a receipt
        worker.cancel()
    results = await asyncio.gather(*workers, return_exceptions=True)
    unexpected = [
        r
        for r in results
        if isinstance(r, BaseException)
        and not isinstance(r, asyncio.CancelledError | aiohttp.ClientError | AssertionError)
    ]
    assert not unexpected, unexpected
    tally["reporters cut off by the kill"] = len(results)
    return told, tally


async def check_told_reports_are_whole(server: ServeProcess, told: dict[str, bytes]) -> int:
    """Every receipt's report is stored with its file; no report is stored half-way."""
    store = FileStore(server.files)
    async with server.db() as s:
        every_report = await cases.list(session=s, kind="abuse_report", limit=1_000_000)
        stored = {case.reference: case for case in every_report}
        assert set(told) <= set(stored), f"told but not stored: {set(told) - set(stored)}"
        for case in every_report:
            [evidence] = await stored_files.list_for_case(session=s, case_id=case.id)
            data = await store.read(evidence.path)
            assert hashlib.sha256(data).hexdigest() == evidence.sha256
            if case.reference in told:
                assert data == told[case.reference], f"{case.reference}'s file is not intact"
    return len(every_report)


async def check_repeats_are_in_the_window(
    server: ServeProcess, fake_slack: FakeSlack, verdict: Verdict, restarted: float
) -> None:
    """A message accepted twice was first sent by the killed process, and marked only after.

    The bound is the restart, not the signal: a request the dead process had already written
    to its socket is still read, and accepted, by the fake a moment after ``kill -9``.
    """
    async with server.db() as s:
        rows = {r.id: r for r in await s.scalars(select(OutboxMessage))}
    for name in verdict.duplicated:
        row = rows[int(name.removeprefix("outbox-"))]
        first, *again = fake_slack.log.accepted[name]
        assert first < restarted, f"{name} was first accepted from the restarted process"
        assert all(t >= restarted for t in again), f"{name} was accepted twice before the kill"
        assert row.sent_at.timestamp() >= restarted, f"{name} was marked before the kill"


async def test_kill_9_mid_stream_loses_nothing_told_and_delivers_all_queued(
    server: ServeProcess, fake_slack: FakeSlack, figures: Figures
) -> None:
    # Slack is hostile too, so messages wait for retries when the kill comes. (No held
    # requests: the process uses slack-sdk's 30 s timeout, too long for this test.)
    fake_slack.chaos = Chaos(seed=9, kinds=(Fault.SERVER_ERROR, Fault.RATE_LIMITED, Fault.RESET))
    site = await server.start()
    await bind(site)
    told, tally = await stream_until_killed(server, site, fake_slack)
    async with server.db() as s:
        waiting = await outbox.pending_count(session=s)
    held = await server.let_leases_run_out()
    # Slack recovers as the bot restarts. Still hostile, a message that failed eight times
    # running would be next tried past this test's wait (the back-off reaches a minute and
    # a half), a few runs in a hundred; retrying through faults is the fault test's subject.
    fake_slack.chaos.rate = 0.0
    restarted = time.time()
    site = await server.start()
    await drained(server.db, within=120)
    stored = await check_told_reports_are_whole(server, told)
    verdict = await judge(server.db, fake_slack, FakeConnector())
    await check_repeats_are_in_the_window(server, fake_slack, verdict, restarted)
    early = fake_slack.log.early_retries()
    figures(
        "crash mid-stream",
        {
            "reports told received": len(told),
            "reports stored": stored,
            "messages waiting at the kill": waiting,
            "leases the dead process held": held,
            "faults injected": dict(
                sorted((str(k), n) for k, n in fake_slack.chaos.injected.items())
            ),
            "retried before Retry-After": len(early),
            **tally,
            "verdict": describe(verdict),
            "repeats, all in the window": verdict.duplicates,
            "accepted until marked sent": window(verdict),
        },
    )
    assert waiting > 0, "the kill left messages to deliver"
    assert not verdict.lost, verdict.lost
    assert not verdict.stale_cards, verdict.stale_cards
    assert not early, early


# --- killed at each step of a delivery ------------------------------------------------------


def to_channel(channel: str) -> object:
    return lambda call: call.body.get("channel") == channel


async def held_alone(server: ServeProcess, hold_count: int) -> None:
    """Wait until the held calls' rows are the only ones not yet marked sent, so the kill
    catches nothing else half-way."""

    async def settled() -> bool:
        async with server.db() as s:
            return await outbox.pending_count(session=s) == hold_count

    await eventually(settled, within=30, what=f"only the {hold_count} held row(s) in flight")


async def report(site: Site, fake_slack: FakeSlack, number: int) -> str:
    reference, seen = await slack_report(site, fake_slack, number, Counter())
    assert seen, "the receipt is shown"
    return reference


def accepted(fake_slack: FakeSlack, method: str, channel: str) -> list[Call]:
    return [c for c in fake_slack.delivered(method) if c.body.get("channel") == channel]


async def test_a_message_is_repeated_only_if_accepted_before_the_kill_and_not_yet_marked(
    server: ServeProcess, fake_slack: FakeSlack, figures: Figures
) -> None:
    # 1. Killed before Slack has the triage card: sent once, after the restart.
    site = await server.start()
    await bind(site)
    hold = fake_slack.hold("chat.postMessage", after_accept=False, where=to_channel(SLACK_TRIAGE))
    first = await report(site, fake_slack, 0)
    await asyncio.wait_for(hold.reached.wait(), timeout=30)
    await held_alone(server, 1)
    await server.kill()
    hold.release()
    site = await restart(server)
    await drained(server.db, within=60)
    assert len(accepted(fake_slack, "chat.postMessage", SLACK_TRIAGE)) == 1

    # 2. Killed after Slack accepted a new card, before its row was marked: posted again.
    hold = fake_slack.hold("chat.postMessage", after_accept=True, where=to_channel(SLACK_TRIAGE))
    second = await report(site, fake_slack, 1)
    await asyncio.wait_for(hold.reached.wait(), timeout=30)
    await held_alone(server, 1)
    await server.kill()
    hold.release()
    site = await restart(server)
    await drained(server.db, within=60)
    assert len(accepted(fake_slack, "chat.postMessage", SLACK_TRIAGE)) == 3, "a second card"

    # 3. Killed after Slack accepted a card update and a direct message, before their rows
    #    were marked: the update is applied again in place, the message sent again.
    reporter_dm = f"D{slack_reporter(0)}"
    held = [
        fake_slack.hold("chat.update", after_accept=True, where=to_channel(SLACK_TRIAGE)),
        fake_slack.hold("chat.postMessage", after_accept=True, where=to_channel(reporter_dm)),
    ]
    case = await the_case(site, first)
    acknowledge = ActionRef(ActionName.CASE_ACKNOWLEDGE, case.id, case.version)
    await press(site, slack_manager(0), acknowledge.encode())
    for each in held:
        await asyncio.wait_for(each.reached.wait(), timeout=30)
    await held_alone(server, 2)
    await server.kill()
    for each in held:
        each.release()
    await restart(server)
    await drained(server.db, within=60)

    verdict = await judge(server.db, fake_slack, FakeConnector())
    repeated = await what_was_repeated(server, fake_slack, verdict)
    figures(
        "crash at each step of a delivery",
        {"kills": 3, "verdict": describe(verdict), "accepted twice": sorted(repeated)},
    )
    assert not verdict.lost and not verdict.stale_cards, (verdict.lost, verdict.stale_cards)
    assert repeated == {
        f"chat.postMessage to {SLACK_TRIAGE} ({second})",  # a second card
        f"chat.update to {SLACK_TRIAGE} ({first})",  # the same update again, in place
        f"chat.postMessage to {reporter_dm}",  # the reporter told twice
    }
    assert set(verdict.duplicated.values()) == {2}
    updates = accepted(fake_slack, "chat.update", SLACK_TRIAGE)
    assert len(updates) == 2 and updates[0].body["ts"] == updates[1].body["ts"], "in place"
    posts = accepted(fake_slack, "chat.postMessage", SLACK_TRIAGE)
    assert [second in str(p.body.get("text")) for p in posts] == [False, True, True]
    assert (await the_case(site, first)).state == "acknowledged"


async def what_was_repeated(
    server: ServeProcess, fake_slack: FakeSlack, verdict: Verdict
) -> set[str]:
    """Each delivery accepted more than once: whose case, which call, where."""
    async with server.db() as s:
        rows = {f"outbox-{r.id}": r for r in await s.scalars(select(OutboxMessage))}
        references = {c.id: c.reference for c in await cases.list(session=s, limit=1_000_000)}
    found = set()
    for name in verdict.duplicated:
        [call, *_] = [c for c in fake_slack.accepted if c.delivery == name]
        about = references.get(rows[name].case_id or "")
        where = f"{call.method} to {call.body.get('channel')}"
        found.add(f"{where} ({about})" if about else where)
    return found
