"""Triage of abuse reports: routing a new report, and every button press on its card.

A press is authorised against the pack (roles, plus the roles the person holds on this
case), checked against the card's version, applied through the lifecycle table and stored
with ``UPDATE … WHERE version = :v``: of two managers pressing at once, one wins and the
other is told who did it first and sees the refreshed card. The state change, its timeline
event, the card updates for every channel the card is in, and any message to the reporter
are written in one transaction; the outbox delivers them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import ActionName, ActionRef
from bot.cards import Card, card_to_json
from bot.cases import notify
from bot.cases.cards import EVENT_LABELS, TRIAGE, details_card, notice_card, triage_card
from bot.cases.forms import FORM_EVENTS, check, form_card, normalise
from bot.cases.lifecycle import ACTION_EVENTS, CaseEvent, CaseKind, IllegalTransition, apply
from bot.cases.routing import recipients
from bot.cases.senders import digest, senders_in
from bot.model import Actor, ConversationRef
from bot.policy import PolicyPack
from bot.reminders import plans
from bot.storage.repos import cases, dedupe, events, outbox
from bot.storage.repos import files as stored_files
from bot.storage.repos import senders as sender_register
from bot.storage.repos.cases import CaseRow
from bot.storage.repos.events import EventRow

log = logging.getLogger(__name__)

TRIAGE_PURPOSE = "abuse_triage"
REPORTER_NOTICES = {CaseEvent.ACKNOWLEDGE: "acknowledged", CaseEvent.CLOSE: "closed"}


@dataclass(frozen=True)
class PressOutcome:
    """What the presser sees: the refreshed card, a form to fill, or a message."""

    card: Card | None = None
    form: Card | None = None
    details: Card | None = None
    flow: Any = None
    replace: bool = False
    message: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def case_roles(case: CaseRow, actor: Actor) -> set[str]:
    """The roles a person holds on this case (reporter, line manager, assignee)."""
    roles = set()
    if actor.key == case.reporter_key:
        roles.add("case_reporter")
    managers = [*(case.data.get("line_manager") or []), *(case.data.get("project_contact") or [])]
    if case.reporter.get("platform") == actor.platform.value and actor.user_id in managers:
        roles.add("case_line_manager")
    if case.assignee_key and case.assignee_key == actor.key:
        roles.add("case_assignee")
    return roles


class Triage:
    """Routes new reports and handles presses on triage cards."""

    def __init__(
        self,
        *,
        pack: PolicyPack,
        db: async_sessionmaker[AsyncSession],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._pack = pack
        self._db = db
        self._clock = clock

    async def route_new_report(
        self,
        session: AsyncSession,
        case: CaseRow,
        reporter: Actor,
        reply_to: ConversationRef | None,
    ) -> None:
        """Queue every copy of a new report, in the transaction that stored it."""
        key = await sender_register.key(session=session)
        named = senders_in(str(case.data.get("senders") or ""))
        await sender_register.record(
            session=session, case_id=case.id, digests=[digest(key, sender) for sender in named]
        )
        timeline = await events.timeline(session=session, case_id=case.id)
        earlier = await sender_register.count_others(session=session, case_id=case.id)
        card = triage_card(self._pack, case, timeline=timeline, earlier_reports=earlier)
        await self._queue_triage_cards(session, case, card)
        await plans.report_submitted(session, self._pack, case, self._clock())
        chosen = case.data.get("line_manager") or case.data.get("project_contact") or []
        for manager in notify.people(chosen, reporter.platform, reply_to):
            await notify.send_direct(session, manager, card, f"manager:{case.id}:{manager.user_id}")
        found = recipients(self._pack, case.data, reply_to)
        copy = triage_card(
            self._pack, case, timeline=timeline, buttons=False, earlier_reports=earlier
        )
        for channel in found.channels:
            await outbox.enqueue(
                session=session,
                platform=channel.platform.value,
                operation="post",
                target=channel.to_json(),
                card=card_to_json(copy),
                dedupe_key=f"copy:{case.id}:{channel.conversation_id}",
            )
        for person in found.people:
            await notify.send_direct(session, person, copy, f"copy:{case.id}:{person.user_id}")
        await events.append(
            session=session,
            case_id=case.id,
            actor_key="bot",
            actor_name="Staff Safety",
            event="routed",
            from_state=case.state,
            to_state=case.state,
            internal=True,
            detail={"copies": found.labels, "forward_by_email": found.emails},
        )

    async def press(
        self,
        *,
        actor: Actor,
        ref: ActionRef,
        inputs: dict[str, Any] | None = None,
        delivery_key: str = "",
    ) -> PressOutcome:
        """Handle one press (or one form submit) on a triage card.

        ``delivery_key`` names this delivery of the press. It is recorded in the press's
        own transaction (``dedupe.record_delivery``): a press that fails leaves no record
        and its redelivery is processed; a repeat raises ``RepeatedDelivery``.
        """
        event = ACTION_EVENTS.get(ref.name)
        async with self._db.begin() as s:
            await dedupe.record_delivery(session=s, key=delivery_key)
            case = await cases.get(session=s, case_id=ref.subject_id)
            if case is None or case.kind != CaseKind.ABUSE_REPORT.value:
                return PressOutcome(message="This report could not be found.")
            if not self._pack.may(
                ref.name.value, actor.identities, case_roles=case_roles(case, actor)
            ):
                log.info("refused %s on %s for %s", ref.name.value, case.reference, actor.key)
                return PressOutcome(
                    message="Sorry, you are not able to do that on this report. "
                    "If you think you should be, ask your administrator."
                )
            if ref.name is ActionName.CASE_VIEW_DETAILS or event is None:
                evidence = await stored_files.list_for_case(session=s, case_id=case.id)
                names = [f"{f.name} ({f.size:,} bytes, SHA-256 {f.sha256[:12]}…)" for f in evidence]
                earlier = await sender_register.earlier_reports(session=s, case_id=case.id)
                return PressOutcome(
                    details=details_card(self._pack, case, names, [e.reference for e in earlier])
                )
            if ref.version != case.version:
                return await self._stale(s, case)
            if event in FORM_EVENTS and inputs is None:
                return PressOutcome(
                    form=form_card(
                        self._pack, event, reference=case.reference, submit_value=ref.encode()
                    )
                )
            if event in FORM_EVENTS:
                inputs = normalise(self._pack, event, inputs or {})
            errors = check(self._pack, event, inputs or {}) if event in FORM_EVENTS else {}
            if errors:
                return PressOutcome(
                    errors=errors,
                    form=form_card(
                        self._pack,
                        event,
                        reference=case.reference,
                        submit_value=ref.encode(),
                        errors=errors,
                        values=inputs,
                    ),
                )
            return await self._apply(s, case, event, actor, inputs or {})

    async def _apply(
        self, s: AsyncSession, case: CaseRow, event: CaseEvent, actor: Actor, inputs: dict[str, Any]
    ) -> PressOutcome:
        try:
            state = apply(CaseKind.ABUSE_REPORT, case.state, event)
        except IllegalTransition:
            return PressOutcome(
                card=triage_card(self._pack, case),
                message="That cannot be done to this report now.",
            )
        changes: dict[str, Any] = {"state": state}
        if event is CaseEvent.ASSIGN:
            changes["assignee"] = Actor(actor.platform, str(inputs["assignee"][0]))
        if event is CaseEvent.CLOSE:
            changes["closed_at"] = self._clock()
        if event is CaseEvent.REOPEN:
            changes["closed_at"] = None
        fresh = await cases.changed(
            session=s, case_id=case.id, expected_version=case.version, **changes
        )
        if fresh is None:
            return await self._stale(s, case)
        label = EVENT_LABELS[event][0]
        await events.append(
            session=s,
            case_id=case.id,
            actor_key=actor.key,
            actor_name=actor.display_name,
            event=event.value,
            from_state=case.state,
            to_state=state,
            detail=_detail(inputs),
            internal=event not in REPORTER_NOTICES,
        )
        timeline = await events.timeline(session=s, case_id=case.id)
        card = triage_card(
            self._pack,
            fresh,
            last_action=_last(label, actor),
            timeline=timeline,
            earlier_reports=await sender_register.count_others(session=s, case_id=case.id),
        )
        await self._queue_triage_cards(s, fresh, card)
        await self._tell_reporter(s, fresh, event, inputs, timeline)
        await self._plan_reminders(s, fresh, event, actor)
        return PressOutcome(card=card)

    async def _plan_reminders(
        self, s: AsyncSession, case: CaseRow, event: CaseEvent, actor: Actor
    ) -> None:
        """Keeping in touch: whoever has the report is reminded until it is closed."""
        if event is CaseEvent.CLOSE:
            await plans.stop_all(s, case)
        elif event in (
            CaseEvent.ACKNOWLEDGE,
            CaseEvent.ASSIGN,
            CaseEvent.CHECK_IN,
            CaseEvent.REOPEN,
        ):
            person = case.assignee_actor or actor
            await plans.keep_in_touch(s, self._pack, case, self._clock(), person)

    async def _stale(self, s: AsyncSession, case: CaseRow) -> PressOutcome:
        current = await cases.get(session=s, case_id=case.id) or case
        timeline = await events.timeline(session=s, case_id=case.id)
        return PressOutcome(
            card=triage_card(
                self._pack,
                current,
                timeline=timeline,
                earlier_reports=await sender_register.count_others(session=s, case_id=case.id),
            ),
            message=notify.who_was_first(timeline),
        )

    async def _queue_triage_cards(self, s: AsyncSession, case: CaseRow, card: Card) -> None:
        configured = self._pack.routing.abuse_report.triage_channel.slack
        channels = await notify.bound_channels(s, TRIAGE_PURPOSE, configured)
        await notify.queue_card(s, case, TRIAGE, card, channels)

    async def _tell_reporter(
        self,
        s: AsyncSession,
        case: CaseRow,
        event: CaseEvent,
        inputs: dict[str, Any],
        timeline: list[EventRow],
    ) -> None:
        notice = REPORTER_NOTICES.get(event)
        if event is CaseEvent.ESCALATE:
            target = next(
                (
                    t
                    for t in self._pack.abuse_report.escalation_targets
                    if t.id == inputs.get("target")
                ),
                None,
            )
            notice = "escalated" if target is not None and target.tell_reporter else None
        if notice is None:
            return
        reply_to = await notify.owner_conversation(s, case, timeline)
        await outbox.enqueue(
            session=s,
            platform=reply_to.platform.value,
            operation="dm",
            target=reply_to.to_json(),
            card=card_to_json(notice_card(self._pack, notice, case.reference)),
            dedupe_key=f"notice:{case.id}:{notice}:{case.version}",
        )


def _detail(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if v not in (None, "", [])}


def _last(label: str, actor: Actor) -> str:
    return f"{label} by {actor.display_name or 'a manager'}"
