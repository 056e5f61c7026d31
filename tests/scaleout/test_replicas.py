"""Two ``python -m bot serve`` replicas on one PostgreSQL database, through the real wire.

Issue 6, "Scale-out on PostgreSQL": fifty simultaneous presses of one button split across
the replicas make one transition; due reminders fire once with both reminder loops running;
outbox rows are delivered once although both delivery loops compete; references never
collide; two replicas started at once migrate a fresh database once. Each test prints its
figures: operations, delivered, duplicates, lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cards import card_from_json
from bot.handlers.slack.blockkit import render_message
from bot.reminders import plans
from bot.storage import migrate
from bot.storage.repos import cases, events
from bot.storage.tables import Case, OutboxMessage, PostedCard, Reminder
from tests.e2e.teams_support import TeamsWire, eventually_async
from tests.e2e.test_slack_triage import buttons
from tests.reliability.wire import Site, slack_report, teams_person
from tests.scaleout.conftest import ADMIN, MANAGERS, TRIAGE_CHANNEL
from tests.scaleout.replicas import Replica
from tests.scaleout.wire import (
    bind_triage,
    block_actions,
    duplicates,
    fill_report,
    fill_teams_report,
    outbox_settled,
    send_report,
    send_teams_report,
    submit_reports,
)
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import signed_headers

Sessions = async_sessionmaker[AsyncSession]
LOSER_TEXT = "already did this first"


async def triage_card(fake_slack: FakeSlack, db: Sessions) -> tuple[dict[str, str], str]:
    """The one report's triage card: its buttons and the ``ts`` it was posted with."""

    async def posted_ts() -> list[str]:
        async with db() as s:
            return list((await s.scalars(select(PostedCard.message_id))).all())

    async def posted() -> bool:
        return bool(await posted_ts())

    await eventually_async(posted, within=60)
    [ts] = await posted_ts()
    [call] = [
        c for c in fake_slack.called("chat.postMessage") if c.body["channel"] == TRIAGE_CHANNEL
    ]
    return buttons(call.body["blocks"]), ts


async def test_fifty_presses_across_two_replicas_make_one_transition(
    replicas: list[Replica],
    fake_slack: FakeSlack,
    db: Sessions,
    figures: Callable[..., None],
) -> None:
    first, second = replicas
    await bind_triage(first, ADMIN, TRIAGE_CHANNEL)
    reference, _ = await slack_report(Site(second, db), fake_slack, 1, Counter())
    card, ts = await triage_card(fake_slack, db)
    bodies = [block_actions(user, card["Acknowledge"], TRIAGE_CHANNEL, ts) for user in MANAGERS]
    signed = [(body, signed_headers(body)) for body in bodies]
    responses = await asyncio.gather(
        *(replicas[i % 2].slack(body, headers=headers) for i, (body, headers) in enumerate(signed))
    )
    assert [r.status for r in responses] == [200] * len(MANAGERS)

    await fake_slack.wait_for("chat.postEphemeral", len(MANAGERS) - 1, within=60)
    await outbox_settled(db)
    await asyncio.sleep(1.0)  # both delivery loops idle: anything late would show now
    async with db() as s:
        report = await cases.get_by_reference(session=s, reference=reference)
        assert report is not None
        timeline = await events.timeline(session=s, case_id=report.id)
    acknowledged = [e for e in timeline if e.event == "acknowledge"]
    updates = [c for c in fake_slack.called("chat.update") if c.body["channel"] == TRIAGE_CHANNEL]
    told = fake_slack.called("chat.postEphemeral")
    [winner] = acknowledged
    losers = {c.body["user"] for c in told if LOSER_TEXT in c.body["text"]}
    figures(
        presses=len(MANAGERS),
        transitions=len(acknowledged),
        told_who_was_first=len(losers),
        card_updates=len(updates),
        duplicates=duplicates(fake_slack.calls),
    )
    assert report.state == "acknowledged" and report.version == 2
    assert [e.event for e in timeline] == ["submitted", "routed", "acknowledge"]
    assert len(told) == len(MANAGERS) - 1 and len(losers) == len(MANAGERS) - 1
    assert {f"slack:{user}" for user in losers} | {winner.actor_key} == {
        f"slack:{user}" for user in MANAGERS
    }
    assert all(f"{winner.actor_name} {LOSER_TEXT}" in c.body["text"] for c in told)
    [update] = updates
    assert update.body["ts"] == ts, "the card is updated in place"
    assert "Acknowledge" not in buttons(update.body["blocks"])
    assert duplicates(fake_slack.calls) == 0


# --- reminders ---------------------------------------------------------------------------------

REMINDED = 20
NUDGE = re.compile(r"Not yet acknowledged: (AB-\d{4}-\d{4,})")


async def make_due(db: Sessions, kind: str) -> int:
    """Back-date every pending reminder of ``kind`` to a minute ago: no test clock reaches
    into a subprocess, and waiting four working hours is not a test."""
    minute_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with db.begin() as s:
        statement = (
            update(Reminder)
            .where(Reminder.kind == kind, Reminder.status == "pending")
            .values(due_at=minute_ago)
        )
        return int((await s.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def all_fired(db: Sessions, kind: str, count: int) -> None:
    async def fired() -> bool:
        async with db() as s:
            statement = select(Reminder.id).where(Reminder.kind == kind, Reminder.status == "fired")
            return len((await s.scalars(statement)).all()) == count

    await eventually_async(fired, within=60)


async def lines_per_case(db: Sessions, event: str) -> Counter[str]:
    """How many ``event`` lines each report's timeline has, by reference."""
    async with db() as s:
        reports = await cases.list(session=s, kind="abuse_report", limit=10_000)
        found: Counter[str] = Counter()
        for report in reports:
            timeline = await events.timeline(session=s, case_id=report.id)
            found[report.reference] = sum(1 for e in timeline if e.event == event)
    return found


async def test_due_reminders_fire_once_with_both_reminder_loops_running(
    replicas: list[Replica], fake_slack: FakeSlack, db: Sessions, figures: Callable[..., None]
) -> None:
    await bind_triage(replicas[0], ADMIN, TRIAGE_CHANNEL)
    tally: Counter[str] = Counter()
    references = set(await submit_reports(replicas, db, fake_slack, range(REMINDED), tally))
    await outbox_settled(db)
    assert await make_due(db, plans.UNACKNOWLEDGED) == REMINDED
    await all_fired(db, plans.UNACKNOWLEDGED, REMINDED)
    assert await make_due(db, plans.UNACKNOWLEDGED_ESCALATION) == REMINDED, "one each"
    await all_fired(db, plans.UNACKNOWLEDGED_ESCALATION, REMINDED)
    await outbox_settled(db)
    await asyncio.sleep(1.0)

    to_triage = [
        c for c in fake_slack.called("chat.postMessage") if c.body["channel"] == TRIAGE_CHANNEL
    ]
    nudges = Counter(
        ref for c in to_triage for ref in set(NUDGE.findall(json.dumps(c.json_arg("blocks"))))
    )
    reminded = await lines_per_case(db, "reminder")
    escalated = await lines_per_case(db, "escalated_unacknowledged")
    fired_by = [int(await r.metric("bot_reminders_fired_total")) for r in replicas]
    figures(
        reminders_due=2 * REMINDED,
        fired=sum(fired_by),
        fired_by_replica=fired_by,
        nudges_delivered=sum(nudges.values()),
        duplicates=sum(n - 1 for n in nudges.values() if n > 1),
        lost=len(references - set(nudges)),
        **tally,
    )
    assert set(nudges) == references and set(nudges.values()) == {1}
    assert set(reminded.values()) == {1} and set(escalated.values()) == {1}
    assert sum(fired_by) == 2 * REMINDED
    assert duplicates(fake_slack.calls) == 0


# --- the outbox --------------------------------------------------------------------------------

QUEUED_REPORTS = 200


def _delivered_as(row: OutboxMessage) -> tuple[str, str]:
    """Where and what Slack should have received for one outbox row."""
    target: dict[str, Any] = row.target
    channel = target.get("conversation_id") or f"D{target['user_id']}"
    blocks = render_message(card_from_json(row.card))["blocks"]
    return str(channel), json.dumps(blocks, sort_keys=True)


async def expected_messages(db: Sessions) -> tuple[Counter[tuple[str, str]], int]:
    """Each sent row's message (what Slack must have received once), and the row count."""
    async with db() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    assert {row.status for row in rows} == {"sent"}, "nothing pending, nothing dead"
    assert {row.platform for row in rows} == {"slack"}
    return Counter(_delivered_as(row) for row in rows if row.message_id != "superseded"), len(rows)


async def test_outbox_rows_are_delivered_once_with_both_delivery_loops_competing(
    replicas: list[Replica], fake_slack: FakeSlack, db: Sessions, figures: Callable[..., None]
) -> None:
    await bind_triage(replicas[1], ADMIN, TRIAGE_CHANNEL)
    tally: Counter[str] = Counter()
    references = await submit_reports(replicas, db, fake_slack, range(QUEUED_REPORTS), tally)
    await outbox_settled(db)
    await asyncio.sleep(1.0)  # both loops idle: a late second delivery would show now

    expected, rows = await expected_messages(db)
    received = Counter(
        (str(c.body["channel"]), json.dumps(c.json_arg("blocks"), sort_keys=True))
        for c in fake_slack.called("chat.postMessage")
    )
    delivered_by = [int(await r.metric("bot_outbox_delivered_total")) for r in replicas]
    figures(
        reports=len(references),
        outbox_rows=rows,
        delivered=sum(received.values()),
        delivered_by_replica=delivered_by,
        duplicates=sum((received - expected).values()),
        lost=sum((expected - received).values()),
        **tally,
    )
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for reference in references)
    assert numbers == list(range(1, QUEUED_REPORTS + 1)), "unique and gap-free references"
    assert received == expected
    assert sum(delivered_by) == rows
    assert all(n > 0 for n in delivered_by), "both delivery loops took part"


# --- references --------------------------------------------------------------------------------

SLACK_REPORTERS = 8
TEAMS_REPORTERS = 4


async def timed(sending: Awaitable[str | None]) -> tuple[str | None, float]:
    """The reference a send returned, and how long the person waited for it."""
    started = time.monotonic()
    reference = await sending
    return reference, time.monotonic() - started


async def test_references_never_collide_across_replicas_and_platforms(
    fake_connector: FakeConnector,
    replicas: list[Replica],
    fake_slack: FakeSlack,
    db: Sessions,
    figures: Callable[..., None],
) -> None:
    """People on Slack and on Teams reach the review page on either replica, then all press
    Send at the same moment, each on the other replica than the one that served their pages
    (drafts live in the database: no sticky sessions)."""
    tally: Counter[str] = Counter()
    slack_people = [f"U0REF{number:03d}" for number in range(SLACK_REPORTERS)]
    teams_people = [teams_person(number, 1) for number in range(TEAMS_REPORTERS)]
    wires = [TeamsWire(replica, fake_connector) for replica in replicas]  # type: ignore[arg-type]
    views = await asyncio.gather(
        *(fill_report(replicas[i % 2], fake_slack, u, tally) for i, u in enumerate(slack_people))
    )
    reviews = await asyncio.gather(
        *(fill_teams_report(wires[i % 2], user) for i, user in enumerate(teams_people))
    )
    results = await asyncio.gather(
        *(
            timed(send_report(replicas[(i + 1) % 2], view, user, tally))
            for i, (view, user) in enumerate(zip(views, slack_people, strict=True))
        ),
        *(
            timed(send_teams_report(wires[(i + 1) % 2], user, review))
            for i, (user, review) in enumerate(zip(teams_people, reviews, strict=True))
        ),
    )
    async with db() as s:
        stored = {row.reporter_key: row.reference for row in (await s.scalars(select(Case))).all()}
    people = [f"slack:{u}" for u in slack_people] + [u.identity for u in teams_people]
    references = [stored[person] for person in people]
    receipts = [reference for reference, _ in results]
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for reference in references)
    figures(
        simultaneous_submissions=len(people),
        unique_references=len(set(references)),
        collisions=len(references) - len(set(references)),
        gaps=numbers[-1] - len(numbers),
        slowest_receipt_s=round(max(seconds for _, seconds in results), 2),
        receipts_seen=sum(1 for receipt in receipts if receipt),
        **tally,
    )
    year = dt.datetime.now(dt.UTC).year
    assert len(stored) == len(people), "one case each"
    assert all(re.fullmatch(rf"AB-{year}-\d{{4}}", reference) for reference in references)
    assert numbers == list(range(1, len(people) + 1)), "unique and gap-free"
    for receipt, reference in zip(receipts, references, strict=True):
        assert receipt in (reference, None), "each receipt names its own case"


# --- migrations --------------------------------------------------------------------------------


async def test_replicas_started_together_migrate_a_fresh_database_once(
    replicas: list[Replica], db: Sessions
) -> None:
    """The fixture started both on a brand-new database at the same moment (and checks, as
    for every test, that neither logged an error)."""
    async with db() as s:
        versions = (await s.scalars(text("SELECT version_num FROM alembic_version"))).all()
    assert set(versions) == migrate.head_revisions() and len(versions) == 1
    assert [await replica.ready() for replica in replicas] == [True, True]
