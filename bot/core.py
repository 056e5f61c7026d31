"""The platform-neutral bot: what every listener calls, on Slack and on Teams alike.

Listeners parse a platform payload into neutral values and make one call here; this module
runs the flow engine, opens cases on completion, answers admin commands and builds the
cards people see. It imports no platform SDK.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import home
from bot.actions import ActionRef
from bot.cards import Card, Element, Fields, Text
from bot.cases.board import BOARD_ACTIONS, Board
from bot.cases.lifecycle import CaseKind
from bot.cases.receipt import receipt_card
from bot.cases.service import CaseOpened, open_case
from bot.cases.triage import PressOutcome, Triage
from bot.evidence import Fetch, take_in
from bot.flows import abuse_report, business_case
from bot.flows.engine import Draft, FlowDone, FlowEngine, FlowError, FlowView
from bot.flows.spec import StepKind
from bot.model import Actor, ConversationRef, FileUpload, RepeatedDelivery
from bot.policy import PolicyPack
from bot.storage.files import FileStore
from bot.storage.repos import cards as bindings
from bot.storage.repos import cases as cases_repo
from bot.storage.repos import dedupe
from bot.storage.repos import files as files_repo

ABUSE_REPORT = abuse_report.FLOW
BUSINESS_CASE = business_case.FLOW
BIND_PURPOSES = {
    "abuse-triage": "abuse_triage",
    "board": "board_triage",
    "corporate-communications": "corporate_communications",
}
log = logging.getLogger(__name__)
ADMIN_ROLE = "admin"
ADMIN_HELP = (
    "Run this in the channel to bind: `bind abuse-triage` (reports come here), `bind board` "
    "(business cases for decision), or `bind corporate-communications` (copies of cases)."
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Core:
    """The bot's core, built once per process by ``bot.app.create_app``.

    Args:
        pack: the organisation's policy pack.
        db: the database session factory.
        files: the store for evidence files.
        clock: the current UTC time (tests pass a controllable one).
        on_queued: called after something was queued for delivery (wakes the loop).
    """

    pack: PolicyPack
    db: async_sessionmaker[AsyncSession]
    files: FileStore
    clock: Callable[[], dt.datetime] = utcnow
    on_queued: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self.triage = Triage(pack=self.pack, db=self.db, clock=lambda: self.clock())
        self.flows = FlowEngine(
            db=self.db,
            specs={
                ABUSE_REPORT: abuse_report.build_spec(self.pack),
                BUSINESS_CASE: business_case.build_spec(self.pack),
            },
            completions={
                ABUSE_REPORT: self._open_abuse_report,
                BUSINESS_CASE: self._open_business_case,
            },
        )
        self.board = Board(pack=self.pack, db=self.db, flows=self.flows, clock=lambda: self.clock())

    # Flows.

    async def start_flow(self, *, actor: Actor, flow: str, delivery_key: str = "") -> FlowView:
        """Start or resume ``flow`` for the person, if the pack lets them start it.

        ``delivery_key``: see :meth:`FlowEngine.start` (a repeat raises ``RepeatedDelivery``).
        """
        if not self.pack.may(f"flow.start.{flow}", actor.identities):
            log.info("refused flow.start.%s for %s", flow, actor.key)
            if delivery_key and await self.seen_before(delivery_key):
                raise RepeatedDelivery(delivery_key)  # refused once already: say it once
            raise FlowError(
                "This organisation has not opened this for you here. Please speak to your "
                "line manager or the communications team."
            )
        return await self.flows.start(actor=actor, flow=flow, delivery_key=delivery_key)

    async def answer_page(
        self,
        *,
        actor: Actor,
        draft_id: str,
        page_id: str,
        values: dict[str, Any],
        uploads: dict[str, tuple[FileUpload, ...]] | None = None,
        fetch: Fetch | None = None,
        reply_to: ConversationRef | None = None,
    ) -> FlowView | FlowDone:
        """Take a page's answers (errors on the field, next page, or the case opened).

        Files attached on the page are fetched, checked and stored first; a refused file is
        named on its field and nothing else on the page is lost.
        """
        values = dict(values)
        if uploads:
            current = await self.flows.show(draft_id=draft_id, actor=actor)  # owner checked
        for step_id, files in (uploads or {}).items():
            if not files or fetch is None:
                continue
            intake = await take_in(
                db=self.db,
                store=self.files,
                fetch=fetch,
                limits=self.pack.abuse_report.evidence_limits,
                uploads=files,
                platform=actor.platform,
                draft_id=draft_id,
            )
            if intake.error:
                view = await self.flows.show(draft_id=draft_id, actor=actor)
                return FlowView(
                    draft=view.draft, spec=view.spec, page=view.page, errors={step_id: intake.error}
                )
            earlier = list(current.draft.answers.get(step_id) or [])
            values[step_id] = [*earlier, *(i for i in intake.file_ids if i not in earlier)]
        result = await self.flows.answer(
            draft_id=draft_id,
            actor=actor,
            page_id=page_id,
            values=values,
            context={"reply_to": reply_to},
        )
        if isinstance(result, FlowDone):
            self.on_queued()
        return result

    async def attach_files(
        self, *, actor: Actor, flow: str, uploads: tuple[FileUpload, ...], fetch: Fetch
    ) -> FlowView | None:
        """Files sent in chat (Teams) while the person's draft waits on a files page.

        Returns the page with the files added (or the refused file named on the field), or
        None when no open draft of ``flow`` is on a page that takes files.
        """
        draft = await self.flows.find_draft(actor=actor, flow=flow)
        if draft is None:
            return None
        view = await self.flows.show(draft_id=draft.id, actor=actor)
        step = next((s for s in view.steps if s.kind is StepKind.FILES), None)
        if step is None:
            return None
        intake = await take_in(
            db=self.db,
            store=self.files,
            fetch=fetch,
            limits=self.pack.abuse_report.evidence_limits,
            uploads=uploads,
            platform=actor.platform,
            draft_id=draft.id,
        )
        if intake.file_ids:
            view = await self.flows.add_items(
                draft_id=draft.id, actor=actor, step_id=step.id, items=list(intake.file_ids)
            )
        if intake.error:
            return FlowView(
                draft=view.draft, spec=view.spec, page=view.page, errors={step.id: intake.error}
            )
        return view

    async def back(self, *, actor: Actor, draft_id: str) -> FlowView:
        return await self.flows.back(draft_id=draft_id, actor=actor)

    async def discard(self, *, actor: Actor, draft_id: str) -> Card:
        await self.flows.discard(draft_id=draft_id, actor=actor)
        return Card(
            title="Draft discarded",
            elements=(Text("Your draft has been deleted. You can start again at any time."),),
        )

    async def _open_abuse_report(
        self, session: AsyncSession, draft: Draft, actor: Actor, context: Mapping[str, Any]
    ) -> CaseOpened:
        reply_to = context.get("reply_to")
        opened = await open_case(
            session,
            kind=CaseKind.ABUSE_REPORT,
            actor=actor,
            prefix=self.pack.abuse_report.reference_prefix,
            answers=draft.answers,
            urgent=draft.answers.get("safety") == "yes",
            reply_to=reply_to.to_json() if isinstance(reply_to, ConversationRef) else None,
            clock=self.clock,
        )
        await files_repo.attach_to_case(
            session=session, session_id=draft.id, case_id=opened.case_id
        )
        case = await cases_repo.get(session=session, case_id=opened.case_id)
        assert case is not None
        await self.triage.route_new_report(
            session, case, actor, reply_to if isinstance(reply_to, ConversationRef) else None
        )
        return opened

    async def _open_business_case(
        self, session: AsyncSession, draft: Draft, actor: Actor, context: Mapping[str, Any]
    ) -> CaseOpened:
        if draft.case_id:
            return await self.board.resubmit(session, draft.case_id, draft.answers, actor)
        reply_to = context.get("reply_to")
        reply = reply_to if isinstance(reply_to, ConversationRef) else None
        opened = await open_case(
            session,
            kind=CaseKind.BUSINESS_CASE,
            actor=actor,
            prefix=self.pack.business_case.reference_prefix,
            answers=draft.answers,
            reply_to=reply.to_json() if reply else None,
            clock=self.clock,
        )
        case = await cases_repo.get(session=session, case_id=opened.case_id)
        assert case is not None
        await self.board.route_new_case(session, case, actor, reply)
        return opened

    def done_card(self, done: FlowDone) -> Card:
        """The receipt shown once the case is stored."""
        opened: CaseOpened = done.result
        if opened.kind is CaseKind.ABUSE_REPORT:
            return receipt_card(self.pack, opened.reference, done.draft.answers, opened.urgent)
        where = {
            "awaiting_support": "It has been sent to your line manager or director, who is "
            "asked to confirm they are aware of and support it. It then goes to the board.",
            "under_review": "Your changes have been sent to the board with what changed.",
        }.get(opened.state, "")
        elements: list[Element] = [
            Text("Thank you. Your business case has been received and saved.", "good"),
            Fields((("Reference", opened.reference),)),
            Text(where),
        ]
        return Card(
            title="Business case received",
            elements=tuple(elements),
            fallback=f"Business case received: {opened.reference}",
        )

    # Triage.

    async def press(
        self,
        *,
        actor: Actor,
        ref: ActionRef,
        inputs: dict[str, Any] | None = None,
        delivery_key: str = "",
    ) -> PressOutcome:
        """A press on a case card (or the submit of the form it asked for).

        ``delivery_key`` is the platform's name for this delivery of the press; it is
        recorded with the press, and a repeat raises ``RepeatedDelivery``, having changed
        nothing.
        """
        service = self.board if ref.name in BOARD_ACTIONS else self.triage
        outcome = await service.press(
            actor=actor, ref=ref, inputs=inputs, delivery_key=delivery_key
        )
        self.on_queued()
        return outcome

    # Home and admin.

    async def home_card(self, *, actor: Actor) -> Card:
        """The home screen for this person, by role (see ``bot.home``)."""
        roles = self.pack.roles_of(actor.identities)
        async with self.db() as s:
            return await home.home_card(s, self.pack, actor, roles, self.clock)

    async def seen_before(self, key: str) -> bool:
        """Record a platform delivery key; True when it was already processed (a retry)."""
        async with self.db.begin() as s:
            return await dedupe.seen_before(session=s, key=key)

    async def admin_command(self, *, actor: Actor, text: str, conversation: ConversationRef) -> str:
        """``bind <purpose>`` in a channel: route that kind of card there. Admins only."""
        words = text.strip().lower().split()
        if len(words) != 2 or words[0] != "bind" or words[1] not in BIND_PURPOSES:
            return ADMIN_HELP
        if ADMIN_ROLE not in self.pack.roles_of(actor.identities):
            return (
                "Only an administrator named in the policy pack (roles: admin) can bind a "
                "channel. Ask your administrator to add you."
            )
        if not conversation.conversation_id:
            return "Please run this in the channel you want to bind."
        purpose = BIND_PURPOSES[words[1]]
        async with self.db.begin() as s:
            await bindings.bind_channel(
                session=s,
                purpose=purpose,
                platform=conversation.platform.value,
                conversation=conversation,
                bound_by=actor.key,
            )
        return f"Done. This channel is now the {words[1].replace('-', ' ')} channel."
