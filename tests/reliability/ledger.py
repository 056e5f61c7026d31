"""Judging a run: what the database says was queued against what the platforms received.

Every outbox row names itself on the wire (``outbox-<id>``, in Slack's message metadata and
the Bot Framework activity's ``channelData``), and the fakes log each delivery they
accepted under that name. So a row is *delivered* when its platform accepted it exactly
once, *lost* when it is still pending, was set aside, or was marked sent with nothing
accepted, and *duplicated* when accepted more than once. A row marked ``superseded`` was
overtaken by a newer rendering of the same card before it went out; the card check covers
it: the last rendering each triage card received must show its case's final state and
carry buttons for its final version.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import ActionCodecError, ActionRef
from bot.cases.cards import STATE_LABELS, TRIAGE
from bot.storage.repos import cards as posted
from bot.storage.repos import cases, outbox
from bot.storage.tables import OutboxMessage
from tests.e2e.test_teams_wire import execute_actions
from tests.reliability.wire import eventually
from tests.support.chaos import DeliveryLog
from tests.support.fake_connector import DELIVERY_OPERATIONS, FakeConnector
from tests.support.fake_slack import DELIVERY_METHODS, FakeSlack


@dataclass
class Verdict:
    """What a run delivered, by outbox row and by card."""

    queued: int = 0
    delivered: int = 0
    superseded: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)
    cards_checked: int = 0
    stale_cards: list[str] = field(default_factory=list)
    by_platform: Counter[str] = field(default_factory=Counter)
    marking_lag: list[float] = field(default_factory=list)  # accepted -> marked sent, seconds

    @property
    def duplicates(self) -> int:
        """Extra copies the platforms received (a row accepted three times counts two)."""
        return sum(times - 1 for times in self.duplicated.values())


async def judge(
    db: async_sessionmaker[AsyncSession], slack: FakeSlack, teams: FakeConnector
) -> Verdict:
    """Compare every outbox row and every triage card with what the fakes accepted."""
    verdict = Verdict()
    logs = {"slack": slack.log, "teams": teams.log}
    async with db() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    for row in rows:
        _judge_row(verdict, row, logs[row.platform])
    await _judge_cards(verdict, db, slack, teams)
    return verdict


def _judge_row(verdict: Verdict, row: Any, log: DeliveryLog) -> None:
    name = f"outbox-{row.id}"
    accepted = len(log.accepted.get(name, []))
    verdict.queued += 1
    if row.status != "sent":
        verdict.lost.append(f"{name} is {row.status} after {row.attempts} attempts")
    elif row.message_id == "superseded":
        verdict.superseded += 1
        if accepted:
            verdict.duplicated[name] = accepted + 1  # sent though a newer one replaced it
    elif accepted == 0:
        verdict.lost.append(f"{name} marked sent but never accepted by {row.platform}")
    else:
        verdict.delivered += 1
        verdict.by_platform[row.platform] += 1
        verdict.marking_lag.append(row.sent_at.timestamp() - log.accepted[name][-1])
        if accepted > 1:
            verdict.duplicated[name] = accepted


async def _judge_cards(
    verdict: Verdict, db: async_sessionmaker[AsyncSession], slack: FakeSlack, teams: FakeConnector
) -> None:
    async with db() as s:
        reports = await cases.list(session=s, kind="abuse_report", limit=1_000_000)
        for case in reports:
            for card in await posted.list_posted(session=s, case_id=case.id, purpose=TRIAGE):
                verdict.cards_checked += 1
                last = (
                    _last_slack_rendering(slack, card.conversation_id, card.message_id)
                    if card.platform == "slack"
                    else _last_teams_rendering(teams, card.conversation_id, card.message_id)
                )
                problem = _shows_final_state(last, case)
                if problem:
                    verdict.stale_cards.append(f"{case.reference} on {card.platform}: {problem}")


def _last_slack_rendering(slack: FakeSlack, channel: str, ts: str) -> tuple[str, list[str]] | None:
    """The fallback text and button values of the last rendering Slack accepted for a card."""
    found = None
    for call in slack.accepted:
        posted_here = call.method == "chat.postMessage" and (call.reply or {}).get("ts") == ts
        updated_here = call.method == "chat.update" and call.body.get("ts") == ts
        if (posted_here or updated_here) and call.body.get("channel") == channel:
            blocks = call.json_arg("blocks") or []
            values = [
                e.get("value", "")
                for b in blocks
                if b.get("type") == "actions"
                for e in b.get("elements", [])
            ]
            found = (str(call.body.get("text", "")), values)
    return found


def _last_teams_rendering(
    teams: FakeConnector, conversation: str, activity_id: str
) -> tuple[str, list[str]] | None:
    """The summary and button values of the last rendering the connector accepted."""
    found = None
    for sent in teams.to_conversation(conversation):
        if sent.operation in ("send", "update") and sent.activity_id == activity_id:
            values = [a["data"].get("action", "") for a in execute_actions(sent.card or {})]
            found = (str(sent.activity.get("summary", "")), values)
    return found


def _shows_final_state(last: tuple[str, list[str]] | None, case: Any) -> str:
    """Why the rendering does not show the case as it ended ("" when it does)."""
    if last is None:
        return "never received"
    text, values = last
    label = STATE_LABELS.get(case.state, case.state)
    if not text.endswith(label):
        return f"shows {text!r}, the case is {label!r}"
    versions = set()
    for value in values:
        try:
            versions.add(ActionRef.decode(value).version)
        except ActionCodecError:
            return f"a button that does not decode: {value!r}"
    if versions != {case.version}:
        return f"buttons for versions {sorted(versions)}, the case is at {case.version}"
    return ""


async def drained(db: async_sessionmaker[AsyncSession], *, within: float) -> None:
    """Wait until nothing is left pending in the outbox."""

    async def empty() -> bool:
        async with db() as s:
            return await outbox.pending_count(session=s) == 0

    await eventually(empty, within=within, what="the outbox draining")


def delivery_calls(slack: FakeSlack, teams: FakeConnector) -> int:
    """Calls the delivery loop made (the ones the fakes may fail), failed or not."""
    slack_calls = sum(1 for call in slack.calls if call.method in DELIVERY_METHODS)
    return slack_calls + sum(teams.attempts[op] for op in DELIVERY_OPERATIONS)


def window(verdict: Verdict) -> str:
    """How long accepted messages waited to be marked sent (the double-send window)."""
    lags = sorted(verdict.marking_lag)
    if not lags:
        return "none"
    median, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return f"median {median * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms"


def describe(verdict: Verdict) -> str:
    """The verdict on one line, for the figures."""
    return json.dumps(
        {
            "queued": verdict.queued,
            "delivered": verdict.delivered,
            "superseded": verdict.superseded,
            "lost": len(verdict.lost),
            "duplicates": verdict.duplicates,
            "cards": verdict.cards_checked,
            "stale cards": len(verdict.stale_cards),
        }
    )
