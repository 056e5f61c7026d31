"""Business cases after submission: the line manager's support and the board's decision.

Seed 002 Section 3: the named line manager or director confirms "I am aware of and support
this application"; only then does the case go to the board (Head of Communications and the
Digital Delivery Board) with a copy to Corporate Communications. The board approves,
rejects or requests changes, each with comments; the decision records who and when, and the
applicant is told. Changes are made by editing the submitted case and resubmitting: every
version is kept and the board's card shows what changed. Approval adds the presence to the
register of approved sites with its review date.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import ActionName, ActionRef
from bot.cards import Card, Text
from bot.cases import notify
from bot.cases.board_cards import (
    BOARD,
    COPY,
    applicant_notice,
    board_card,
    full_case_card,
    support_card,
)
from bot.cases.decisions import FORMS, check_decision, decision_fields, decision_form
from bot.cases.lifecycle import ACTION_EVENTS, CaseEvent, CaseKind, IllegalTransition, apply
from bot.cases.routing import reach
from bot.cases.service import CaseOpened
from bot.cases.triage import PressOutcome
from bot.flows.engine import FlowEngine, FlowError
from bot.model import Actor, ConversationRef
from bot.policy import PolicyPack
from bot.reminders import plans
from bot.storage.repos import cases, dedupe, events, presences
from bot.storage.repos.cases import CaseRow

log = logging.getLogger(__name__)

BOARD_PURPOSE = "board_triage"
COPY_PURPOSE = "corporate_communications"
# The actions this module answers; every other case action is an abuse report's (triage).
BOARD_ACTIONS = frozenset(
    {
        ActionName.CASE_SUPPORT,
        ActionName.CASE_DECLINE_SUPPORT,
        ActionName.CASE_APPROVE,
        ActionName.CASE_REJECT,
        ActionName.CASE_REQUEST_CHANGES,
        ActionName.CASE_RESUBMIT,
        ActionName.CASE_WITHDRAW,
        ActionName.CASE_VIEW_FULL_CASE,
        ActionName.PRESENCE_CHECKED,
    }
)
TELL_APPLICANT = FORMS


def case_roles(case: CaseRow, actor: Actor) -> set[str]:
    """The roles a person holds on a business case: applicant, supporter."""
    roles = set()
    if actor.key == case.reporter_key:
        roles.add("case_applicant")
    if actor.key == case.reporter_key and case.state == "approved":
        roles.add("presence_owner")
    same_platform = case.reporter.get("platform") == actor.platform.value
    if same_platform and actor.user_id in (case.data.get("line_manager") or []):
        roles.add("case_supporter")
    return roles


class Board:
    """Support requests, board decisions and resubmissions of business cases."""

    def __init__(
        self,
        *,
        pack: PolicyPack,
        db: async_sessionmaker[AsyncSession],
        flows: FlowEngine,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._pack = pack
        self._db = db
        self._flows = flows
        self._clock = clock

    async def route_new_case(
        self,
        session: AsyncSession,
        case: CaseRow,
        applicant: Actor,
        reply_to: ConversationRef | None,
    ) -> None:
        """Ask the named line manager or director for support (the case waits for it)."""
        card = support_card(self._pack, case)
        await plans.case_submitted(session, self._pack, case, self._clock())
        chosen = case.data.get(self._pack.business_case.line_manager.id) or []
        for manager in notify.people(chosen, applicant.platform, reply_to):
            await notify.send_direct(
                session, manager, card, f"support:{case.id}:{case.version}:{manager.user_id}"
            )

    async def resubmit(
        self, session: AsyncSession, case_id: str, answers: dict[str, Any], actor: Actor
    ) -> CaseOpened:
        """The applicant's edited case: a new version, back to the board or the manager."""
        case = await cases.get(session=session, case_id=case_id)
        if case is None or case.reporter_key != actor.key:
            raise FlowError("Only the applicant can resubmit this business case.")
        try:
            state = apply(CaseKind.BUSINESS_CASE, case.state, CaseEvent.RESUBMIT)
        except IllegalTransition:
            raise FlowError("This business case cannot be changed now.") from None
        fresh = await cases.changed(
            session=session,
            case_id=case.id,
            state=state,
            expected_version=case.version,
            data=answers,
        )
        if fresh is None:
            raise FlowError("This business case was changed meanwhile. Please try again.")
        await cases.add_version(
            session=session, case_id=case.id, data=answers, created_by=actor.key
        )
        await events.append(
            session=session,
            case_id=case.id,
            actor_key=actor.key,
            actor_name=actor.display_name,
            event="resubmit",
            from_state=case.state,
            to_state=state,
        )
        if state == "under_review":
            await self._queue_board_cards(session, fresh)
        else:
            await self.route_new_case(
                session, fresh, actor, await notify.submitted_from(session, fresh)
            )
        return CaseOpened(case.id, CaseKind.BUSINESS_CASE, case.reference, state, False)

    async def press(
        self,
        *,
        actor: Actor,
        ref: ActionRef,
        inputs: dict[str, Any] | None = None,
        delivery_key: str = "",
    ) -> PressOutcome:
        """A press on a support request, a board card or an applicant's notice.

        A repeated delivery of a press (``delivery_key``) raises ``RepeatedDelivery``. The
        key is recorded in the transaction that makes the press's change: the decision's
        own, or for "edit and resubmit" the new draft's (``FlowEngine.start``).
        """
        event = ACTION_EVENTS.get(ref.name)
        resubmitting = event is CaseEvent.RESUBMIT
        async with self._db.begin() as s:
            if not resubmitting:
                await dedupe.record_delivery(session=s, key=delivery_key)
            case = await cases.get(session=s, case_id=ref.subject_id)
            if case is None:
                return PressOutcome(message="This business case could not be found.")
            if case.kind != CaseKind.BUSINESS_CASE.value:
                return PressOutcome(message="This business case could not be found.")
            if not self._pack.may(
                ref.name.value, actor.identities, case_roles=case_roles(case, actor)
            ):
                log.info("refused %s on %s for %s", ref.name.value, case.reference, actor.key)
                return PressOutcome(
                    message="Sorry, you are not able to do that on this business case."
                )
            if ref.name is ActionName.PRESENCE_CHECKED:
                return await self._checked(s, case, actor)
            if ref.name is ActionName.CASE_VIEW_FULL_CASE or event is None:
                return PressOutcome(details=full_case_card(self._pack, case))
            if ref.version != case.version:
                return await self._stale(s, case)
            if not resubmitting:
                return await self._decide(s, case, event, actor, ref, inputs)
        return await self._edit(actor, case, delivery_key)

    async def _decide(
        self,
        s: AsyncSession,
        case: CaseRow,
        event: CaseEvent,
        actor: Actor,
        ref: ActionRef,
        inputs: dict[str, Any] | None,
    ) -> PressOutcome:
        """A decision: its form first if it has one, errors on the field, else applied."""
        if event in FORMS:
            if inputs is None:
                return PressOutcome(form=decision_form(self._pack, event, case, ref.encode()))
            errors = check_decision(event, inputs)
            if errors:
                return PressOutcome(
                    errors=errors,
                    form=decision_form(self._pack, event, case, ref.encode(), errors, inputs),
                )
        return await self._apply(s, case, event, actor, inputs or {})

    async def _checked(self, s: AsyncSession, case: CaseRow, actor: Actor) -> PressOutcome:
        """The owner's weekly "checked" press (seed 002 Section D), logged on the timeline."""
        await events.append(
            session=s,
            case_id=case.id,
            actor_key=actor.key,
            actor_name=actor.display_name,
            event="presence_checked",
            from_state=case.state,
            to_state=case.state,
            detail={"checked_at": self._clock().isoformat()},
        )
        return PressOutcome(
            replace=True,
            card=Card(
                title="Thank you", elements=(Text("Logged: the page was checked this week."),)
            ),
        )

    async def _edit(self, actor: Actor, case: CaseRow, delivery_key: str) -> PressOutcome:
        if case.state not in ("changes_requested", "not_supported"):
            return PressOutcome(message="This business case cannot be changed now.")
        view = await self._flows.start(
            actor=actor,
            flow="business_case",
            prefill=case.data,
            case_id=case.id,
            delivery_key=delivery_key,
        )
        if view.draft.case_id != case.id:
            return PressOutcome(
                message="You have another business case draft open. Finish or "
                "discard it first, then edit this one."
            )
        return PressOutcome(flow=view)

    async def _apply(
        self, s: AsyncSession, case: CaseRow, event: CaseEvent, actor: Actor, inputs: dict[str, Any]
    ) -> PressOutcome:
        try:
            state = apply(CaseKind.BUSINESS_CASE, case.state, event)
        except IllegalTransition:
            return PressOutcome(message="That cannot be done to this business case now.")
        fresh = await cases.changed(
            session=s, case_id=case.id, expected_version=case.version, state=state
        )
        if fresh is None:
            return await self._stale(s, case)
        # Only what the decision's form asks (checked as text by check_decision): a press
        # cannot add fields of its own to the record.
        answers = {field: inputs.get(field) for field in decision_fields(event)}
        detail = {k: v.strip() for k, v in answers.items() if isinstance(v, str) and v.strip()}
        if event is CaseEvent.SUPPORT:
            detail["statement"] = self._pack.business_case.support_statement
        await events.append(
            session=s,
            case_id=case.id,
            actor_key=actor.key,
            actor_name=actor.display_name,
            event=event.value,
            from_state=case.state,
            to_state=state,
            detail=detail,
        )
        if event is CaseEvent.APPROVE:
            await self._register(s, fresh, actor, detail["name_or_url"])
        if event in (CaseEvent.SUPPORT, CaseEvent.DECLINE_SUPPORT):
            await plans.support_given(s, fresh)
        if state != "not_supported":
            await self._queue_board_cards(s, fresh)
        if event in TELL_APPLICANT:
            await notify.send_direct(
                s,
                await notify.owner_conversation(s, fresh),
                applicant_notice(self._pack, fresh, event.value, detail.get("comments", "")),
                f"decision:{case.id}:{fresh.version}",
            )
        if event in (CaseEvent.SUPPORT, CaseEvent.DECLINE_SUPPORT):
            return PressOutcome(card=support_card(self._pack, fresh), replace=True)
        return PressOutcome(card=await self._board_card(s, fresh))

    async def _register(
        self, s: AsyncSession, case: CaseRow, actor: Actor, name_or_url: str
    ) -> None:
        now = self._clock()
        years = self._pack.business_case.review_after_years
        review = (
            now.replace(year=now.year + years)
            if not (now.month == 2 and now.day == 29)
            else now.replace(year=now.year + years, day=28)
        )
        await plans.presence_approved(s, self._pack, case, now, review)
        await presences.add(
            session=s,
            case_id=case.id,
            platform=str(case.data.get("social_media") or ""),
            name_or_url=name_or_url,
            owner=case.reporter_actor,
            approved_by=actor.key,
            approved_at=now,
            review_at=review,
        )

    async def _board_card(self, s: AsyncSession, case: CaseRow, buttons: bool = True) -> Card:
        versions = [v.data for v in await cases.list_versions(session=s, case_id=case.id)]
        timeline = await events.timeline(session=s, case_id=case.id)
        return board_card(self._pack, case, versions=versions, timeline=timeline, buttons=buttons)

    async def _queue_board_cards(self, s: AsyncSession, case: CaseRow) -> None:
        configured = self._pack.routing.business_case.board_channel.slack
        board = await notify.bound_channels(s, BOARD_PURPOSE, configured)
        await notify.queue_card(s, case, BOARD, await self._board_card(s, case), board)
        copy = await self._board_card(s, case, buttons=False)
        copies = await notify.bound_channels(s, COPY_PURPOSE)
        contacts = [self._pack.contact(c) for c in self._pack.routing.business_case.copies]
        found = reach(self._pack, contacts, await notify.submitted_from(s, case))
        await notify.queue_card(s, case, COPY, copy, [*copies, *found.channels])
        for person in found.people:
            await notify.send_direct(
                s, person, copy, f"copy:{case.id}:{case.version}:{person.user_id}"
            )

    async def _stale(self, s: AsyncSession, case: CaseRow) -> PressOutcome:
        current = await cases.get(session=s, case_id=case.id) or case
        timeline = await events.timeline(session=s, case_id=case.id)
        return PressOutcome(
            card=await self._board_card(s, current),
            message=notify.who_was_first(timeline),
        )
