"""The wire side of the scale-out scenarios: many people at once, on any replica.

The reliability suite's workload helpers (``tests.reliability.wire``) already find each
person's own modal by the ``trigger_id`` of their slash command, and press Submit again when
Slack's three seconds ran out, as a person would (``tally`` counts it). Here a report can
also be split in two, every page but the last and then Send, so that many people can press
Send at the same moment, each on any replica.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import OutboxMessage
from tests.e2e.teams_support import TeamsUser, TeamsWire, eventually_async, shows
from tests.e2e.test_slack_wire import FULL_REPORT, submission
from tests.reliability.wire import (
    REFERENCE,
    TEAMS_REPORT,
    Site,
    opened_view,
    slack_report,
    slack_submit,
)
from tests.scaleout.replicas import Replica
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_signing import press_body, slash_command_body

Sessions = async_sessionmaker[AsyncSession]
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")


async def bind_triage(replica: Replica, admin: str, channel: str) -> None:
    """``/staff-safety bind abuse-triage`` in ``channel``, by an administrator."""
    body = slash_command_body(
        "/staff-safety", user_id=admin, text="bind abuse-triage", channel_id=channel
    )
    response = await replica.slack(body)
    assert "Done" in await response.text()


async def submit_reports(
    replicas: list[Replica],
    db: Sessions,
    fake_slack: FakeSlack,
    numbers: range,
    tally: Counter[str],
    *,
    at_once: int = 4,
) -> list[str]:
    """Whole Slack reports by reporters ``numbers``, dealt to the replicas in turn,
    ``at_once`` in flight; their references."""
    gate = asyncio.Semaphore(at_once)

    async def one(index: int, number: int) -> str:
        async with gate:
            site = Site(replicas[index % len(replicas)], db)
            reference, _ = await slack_report(site, fake_slack, number, tally)
            return reference

    return list(await asyncio.gather(*(one(i, number) for i, number in enumerate(numbers))))


async def fill_report(
    replica: Replica, fake_slack: FakeSlack, user: str, tally: Counter[str]
) -> dict[str, Any]:
    """``/report-abuse`` by ``user`` and every page but the last: the review page's view."""
    trigger = f"trigger-{user}"
    command = slash_command_body("/report-abuse", user_id=user, trigger_id=trigger)
    assert (await replica.slack(command)).status == 200
    view = await opened_view(fake_slack, trigger)
    for values in FULL_REPORT[:-1]:
        answer = await slack_submit(replica, submission(view, values, user), tally)
        view = {**view, **answer["view"]}
    return view


async def send_report(
    replica: Replica, view: dict[str, Any], user: str, tally: Counter[str]
) -> str | None:
    """Send the review page; the reference on the receipt (``None`` if Slack's three
    seconds ran out on it, and the receipt the person saw was an error)."""
    answer = await slack_submit(replica, submission(view, FULL_REPORT[-1], user), tally)
    found = set(REFERENCE.findall(json.dumps(answer)))
    return found.pop() if found else None


async def fill_teams_report(wire: TeamsWire, user: TeamsUser) -> dict[str, Any]:
    """ "report abuse" in ``user``'s personal chat and every page up to the review page."""
    card = await wire.say(user, "report abuse")
    for values in TEAMS_REPORT[:-1]:
        card = await wire.submit_form(user, card, **values)
    return card


async def send_teams_report(wire: TeamsWire, user: TeamsUser, review: dict[str, Any]) -> str:
    """Send the review page; the reference on the receipt."""
    receipt = await wire.submit_form(user, review, **TEAMS_REPORT[-1])
    [reference] = set(REFERENCE.findall(shows(receipt)))
    return reference


def block_actions(user: str, value: str, channel: str, message_ts: str) -> str:
    """The body of a press on a button of the message ``message_ts`` (sign it to send it)."""
    return press_body(user, value, channel=channel, message_ts=message_ts)


async def outbox_settled(db: Sessions) -> dict[str, int]:
    """Outbox rows by status, once none is pending any more."""

    async def counts() -> dict[str, int]:
        async with db() as s:
            statement = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            return {status: int(n) for status, n in (await s.execute(statement)).all()}

    async def drained() -> bool:
        return "pending" not in await counts()

    await eventually_async(drained, within=180)
    return await counts()


def message_key(call: Call) -> tuple[str, str, str, str]:
    """What makes a Slack message itself: how it was sent, where to, to whom, what it showed."""
    shown = json.dumps(call.json_arg("blocks") or call.body.get("text"), sort_keys=True)
    where = str(call.body.get("channel"))
    return call.method, where, str(call.body.get("user") or call.body.get("ts")), shown


def duplicates(calls: list[Call]) -> int:
    """How many messages (posts, updates, ephemerals) repeated one already made."""
    sent = Counter(message_key(c) for c in calls if c.method in MESSAGE_METHODS)
    return sum(n - 1 for n in sent.values() if n > 1)
