"""The reminder loop: claims due reminders, sends what each asks, schedules the next.

Claims are leases (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and the messages a reminder
sends, its timeline line and its "fired" mark are written in one transaction that first
checks the mark is still to be made, so each reminder fires once even with several
replicas (or a replica stalled past its lease), a reminder cancelled after it was claimed
stays silent, and a crash before the commit only means it is claimed again after the lease.
Each handler first checks the case still needs it: a report acknowledged meanwhile is not
chased, a closed one is not checked in on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import ActionName, ActionRef
from bot.cards import Actions, Button, Card, Text
from bot.cases import notify
from bot.cases.board_cards import support_card
from bot.cases.routing import reach
from bot.cases.triage import TRIAGE_PURPOSE
from bot.model import Actor
from bot.policy import PolicyPack
from bot.reminders import plans
from bot.reminders.timing import due
from bot.storage.repos import cases, events, presences, reminders
from bot.storage.repos.cases import CaseRow
from bot.storage.repos.reminders import ReminderRow

log = logging.getLogger(__name__)
LEASE_SECONDS = 120


class ReminderLoop:
    """Fires due reminders until stopped."""

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        pack: PolicyPack,
        clock: Callable[[], dt.datetime],
        on_queued: Callable[[], None],
        idle_seconds: float = 5.0,
    ) -> None:
        self._db, self._pack, self._clock = db, pack, clock
        self._on_queued, self._idle = on_queued, idle_seconds
        self._worker = f"reminders-{uuid.uuid4().hex[:8]}"
        self._stopping = False
        self._wake = asyncio.Event()
        self.fired = 0

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:
                log.exception("reminder pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle)

    async def run_once(self) -> int:
        """Fire every reminder due now; return how many fired."""
        async with self._db.begin() as s:
            rows = await reminders.claim_due(
                session=s,
                now=self._clock(),
                worker_id=self._worker,
                limit=50,
                lease_seconds=LEASE_SECONDS,
            )
        fired = 0
        for row in rows:
            async with self._db.begin() as s:
                fired += await self._fire_once(s, row)
        self.fired += fired
        if fired:
            self._on_queued()
        return fired

    async def _fire_once(self, s: AsyncSession, row: ReminderRow) -> bool:
        """Fire ``row`` unless it was fired or cancelled since it was claimed.

        A lease can run out under a stalled replica, and a press can cancel a reminder
        already claimed, so the claim alone does not decide. The case is locked first, then
        the reminder is marked fired (which takes its row): that is the order a press
        takes them in, so the two wait for each other rather than deadlock, and whichever
        commits second sees what the first did. Nothing is sent unless the mark took.
        """
        case = await cases.get_locked(session=s, case_id=row.case_id) if row.case_id else None
        if not await reminders.mark_fired(session=s, reminder_id=row.id):
            return False
        if case is not None:
            await self._fire(s, row, case)
        return True

    async def _fire(self, s: AsyncSession, row: ReminderRow, case: CaseRow) -> None:
        handler = {
            plans.UNACKNOWLEDGED: self._unacknowledged,
            plans.UNACKNOWLEDGED_ESCALATION: self._escalate_unacknowledged,
            plans.CHECK_IN: self._check_in,
            plans.SUPPORT: self._support,
            plans.PRESENCE_MONITOR: self._monitor,
            plans.PRESENCE_REVIEW: self._review,
        }.get(row.kind)
        if handler is not None:
            await handler(s, row, case)

    async def _note(
        self, s: AsyncSession, case: CaseRow, event: str, detail: dict[str, object]
    ) -> None:
        await events.append(
            session=s,
            case_id=case.id,
            actor_key="bot",
            actor_name="Staff Safety",
            event=event,
            from_state=case.state,
            to_state=case.state,
            detail=detail,
            internal=True,
        )

    async def _unacknowledged(self, s: AsyncSession, row: ReminderRow, case: CaseRow) -> None:
        if case.state != "new":
            return
        hours = self._pack.reminders.unacknowledged_hours
        card = Card(
            title=f"Not yet acknowledged: {case.reference}",
            elements=(
                Text(
                    f"Report {case.reference} has waited {hours} hours without being acknowledged. "
                    "Please pick it up on its card.",
                    "alert",
                ),
            ),
        )
        configured = self._pack.routing.abuse_report.triage_channel.slack
        for channel in await notify.bound_channels(s, TRIAGE_PURPOSE, configured):
            await notify.send_direct(
                s, channel, card, f"reminder:{row.id}:{channel.conversation_id}"
            )
        await self._note(s, case, "reminder", {"kind": row.kind})
        later = self._pack.reminders.unacknowledged_escalate_hours - hours
        await plans.schedule(
            s,
            plans.UNACKNOWLEDGED_ESCALATION,
            case,
            due(self._pack, self._clock(), hours=later, urgent=case.urgent),
        )

    async def _escalate_unacknowledged(
        self, s: AsyncSession, row: ReminderRow, case: CaseRow
    ) -> None:
        if case.state != "new":
            return
        leads = [c for c in self._pack.contacts if c.role == "communications_lead"]
        found = reach(self._pack, leads, await notify.submitted_from(s, case))
        card = Card(
            title=f"Unacknowledged report {case.reference}",
            elements=(
                Text(
                    f"Report {case.reference} has not been acknowledged by the triage team. It is "
                    "escalated to you so that someone picks it up.",
                    "alert",
                ),
            ),
        )
        for person in found.people:
            await notify.send_direct(s, person, card, f"reminder:{row.id}:{person.user_id}")
        for channel in found.channels:
            await notify.send_direct(
                s, channel, card, f"reminder:{row.id}:{channel.conversation_id}"
            )
        await self._note(
            s,
            case,
            "escalated_unacknowledged",
            {"to": [c.label for c in leads], "forward_by_email": found.emails},
        )

    async def _check_in(self, s: AsyncSession, row: ReminderRow, case: CaseRow) -> None:
        if case.state == "closed":
            return
        person = Actor.from_json(dict(row.subject.get("person") or case.reporter))
        if case.assignee:
            person = Actor.from_json(case.assignee)
        days = self._pack.reminders.check_in_days
        button = Button(
            "Log check-in",
            ActionRef(ActionName.CASE_CHECK_IN, case.id, case.version).encode(),
            "primary",
        )
        card = Card(
            title=f"Keep in touch: {case.reference}",
            elements=(
                Text(
                    f"It is {days} days since a check-in was logged for report {case.reference}. "
                    "Please get in touch with the person who reported it, to check they are "
                    "getting the support they need."
                ),
                Actions((button,)),
            ),
        )
        targets = notify.people(
            [person.user_id], person.platform, await notify.submitted_from(s, case)
        )
        for target in targets:
            await notify.send_direct(s, target, card, f"reminder:{row.id}")
        await self._note(s, case, "reminder", {"kind": row.kind, "to": person.key})
        await plans.schedule(
            s,
            plans.CHECK_IN,
            case,
            due(self._pack, self._clock(), days=days, urgent=case.urgent),
            {"person": person.to_json()},
        )

    async def _support(self, s: AsyncSession, row: ReminderRow, case: CaseRow) -> None:
        if case.state != "awaiting_support":
            return
        reply_to = await notify.submitted_from(s, case)
        chosen = case.data.get(self._pack.business_case.line_manager.id) or []
        owner = case.reporter_actor
        for manager in notify.people(chosen, owner.platform, reply_to):
            await notify.send_direct(
                s, manager, support_card(self._pack, case), f"reminder:{row.id}:{manager.user_id}"
            )
        waiting = Card(
            title=f"Business case {case.reference}",
            elements=(
                Text(
                    "Your business case is still waiting for your line manager's support. We have "
                    "reminded them."
                ),
            ),
        )
        await notify.send_direct(
            s, await notify.owner_conversation(s, case), waiting, f"reminder:{row.id}:applicant"
        )
        await self._note(s, case, "reminder", {"kind": row.kind})
        await plans.schedule(
            s,
            plans.SUPPORT,
            case,
            due(self._pack, self._clock(), days=self._pack.reminders.support_reminder_days),
        )

    async def _monitor(self, s: AsyncSession, row: ReminderRow, case: CaseRow) -> None:
        entry = await presences.for_case(session=s, case_id=case.id)
        if case.state != "approved" or entry is None:
            return
        words = self._pack.business_case.presence_reminders
        checked = Button(
            "Checked",
            ActionRef(ActionName.PRESENCE_CHECKED, case.id, case.version).encode(),
            "primary",
        )
        card = Card(
            title=f"Weekly check: {entry.name_or_url}",
            elements=(
                Text(words.monitor.replace("{presence}", entry.name_or_url)),
                Text(words.capture_content.replace("{presence}", entry.name_or_url), "muted"),
                Actions((checked,)),
            ),
        )
        await notify.send_direct(
            s, await notify.owner_conversation(s, case), card, f"reminder:{row.id}"
        )
        await plans.schedule(
            s,
            plans.PRESENCE_MONITOR,
            case,
            due(self._pack, self._clock(), days=self._pack.reminders.presence_monitor_days),
        )

    async def _review(self, s: AsyncSession, row: ReminderRow, case: CaseRow) -> None:
        entry = await presences.for_case(session=s, case_id=case.id)
        if entry is None:
            return
        years = self._pack.business_case.review_after_years
        card = Card(
            title=f"Review due: {entry.name_or_url}",
            elements=(
                Text(
                    f"{entry.name_or_url} was approved for {years} years and is due for "
                    "review. Please review it with Corporate Communications, or follow its "
                    "exit strategy."
                ),
            ),
        )
        await notify.send_direct(
            s, await notify.owner_conversation(s, case), card, f"reminder:{row.id}"
        )
        await self._note(s, case, "reminder", {"kind": row.kind})
