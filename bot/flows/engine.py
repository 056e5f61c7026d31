"""The flow engine: start, answer, back, discard and resume a flow, one page at a time.

Every page answered is saved to the ``flow_sessions`` table before anything is shown, so a
draft survives a closed modal, a closed chat or a restart, and the person resumes where they
stopped. When the last page is answered, the flow's completion runs in the same database
transaction that marks the draft submitted: either both happen or neither (store first, then
tell). The engine knows no platform; adapters turn its ``FlowView`` into a modal or a card.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.answers import normalise
from bot.flows.spec import FlowSpec, Page, Step, StepKind, validate
from bot.model import Actor
from bot.storage.repos import dedupe
from bot.storage.repos import files as stored_files
from bot.storage.repos import sessions as drafts

Completion = Callable[[AsyncSession, "Draft", Actor, Mapping[str, Any]], Awaitable[Any]]


class FlowError(Exception):
    """A flow request that cannot be served; ``message`` is safe to show the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Draft:
    """A person's saved progress through a flow."""

    id: str
    flow: str
    page_id: str
    answers: dict[str, Any]
    history: tuple[str, ...]
    version: int
    case_id: str | None = None


@dataclass(frozen=True)
class FlowView:
    """What to show next: a page of a flow, with answers so far and any field errors."""

    draft: Draft
    spec: FlowSpec
    page: Page
    errors: dict[str, str] = field(default_factory=dict)
    resumed: bool = False

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.page.visible_steps(self.draft.answers)

    @property
    def is_last(self) -> bool:
        return self.spec.next_page(self.page.id, self.draft.answers) is None

    @property
    def can_go_back(self) -> bool:
        return bool(self.draft.history)

    @property
    def position(self) -> tuple[int, int]:
        """(this page's number, the number of pages) counting only pages that will be shown."""
        pages = [p.id for p in self.spec.visible_pages(self.draft.answers)]
        number = pages.index(self.page.id) + 1 if self.page.id in pages else len(pages)
        return number, len(pages)


@dataclass(frozen=True)
class FlowDone:
    """The flow was completed; ``result`` is what the flow's completion returned."""

    draft: Draft
    result: Any


class FlowEngine:
    """Runs flows for people on any platform.

    Args:
        db: the session factory of the bot's database.
        specs: the flows by name.
        completions: what to do when each flow is completed, by flow name. Runs inside the
            transaction that marks the draft submitted.
    """

    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        specs: Mapping[str, FlowSpec],
        completions: Mapping[str, Completion],
    ) -> None:
        self._db = db
        self._specs = dict(specs)
        self._completions = dict(completions)

    def spec(self, flow: str) -> FlowSpec:
        try:
            return self._specs[flow]
        except KeyError:
            raise FlowError("That form is not available.") from None

    async def start(
        self,
        *,
        actor: Actor,
        flow: str,
        prefill: Mapping[str, Any] | None = None,
        case_id: str | None = None,
        delivery_key: str = "",
    ) -> FlowView:
        """Resume the person's open draft of ``flow``, or start a new one at the first page.

        ``delivery_key`` names the platform's delivery of the message that asked for it. It
        is recorded in this transaction, so a start that failed leaves no record and its
        redelivery is processed, and a repeat raises :class:`RepeatedDelivery`.

        The new draft is inserted first and the open one read only when the insert clashes
        with it (a person has one open draft of a flow): a new draft, the common case, costs
        one statement. A start that loses a race to a double click or a second device finds
        the draft that won, the same way.
        """
        spec = self.spec(flow)
        answers = dict(prefill or {})
        first = spec.visible_pages(answers)[0]
        async with self._db.begin() as s:
            await dedupe.record_delivery(session=s, key=delivery_key)
            try:
                row = await drafts.create(
                    session=s,
                    platform=actor.platform.value,
                    user_id=actor.user_id,
                    flow=flow,
                    step=first.id,
                    answers=answers,
                    history=[],
                    case_id=case_id,
                )
            except drafts.OpenSessionExists:
                open_draft = await drafts.get_open(
                    session=s, platform=actor.platform.value, user_id=actor.user_id, flow=flow
                )
                if open_draft is None:  # closed again in between; a fresh command starts anew
                    raise
                return FlowView(
                    draft=_draft(open_draft),
                    spec=spec,
                    page=_page_of(spec, open_draft),
                    resumed=True,
                )
            return FlowView(draft=_draft(row), spec=spec, page=first)

    async def find_draft(self, *, actor: Actor, flow: str) -> Draft | None:
        """The person's open draft of ``flow``, if any (for home screens)."""
        async with self._db() as s:
            row = await drafts.get_open(
                session=s, platform=actor.platform.value, user_id=actor.user_id, flow=flow
            )
            return _draft(row) if row is not None else None

    async def show(self, *, draft_id: str, actor: Actor) -> FlowView:
        """The page the draft is on now."""
        async with self._db() as s:
            row = await self._owned(s, draft_id, actor)
            spec = self.spec(row.flow)
            return FlowView(draft=_draft(row), spec=spec, page=_page_of(spec, row))

    async def answer(
        self,
        *,
        draft_id: str,
        actor: Actor,
        page_id: str,
        values: Mapping[str, Any],
        context: Mapping[str, Any] | None = None,
    ) -> FlowView | FlowDone:
        """Take the answers to one page: refuse with field errors, or save and move on.

        A submit for a page the draft is no longer on (a double press, an old card) changes
        nothing and shows the current page.
        """
        async with self._db.begin() as s:
            row = await self._owned(s, draft_id, actor)
            spec = self.spec(row.flow)
            current = _page_of(spec, row)
            if current.id != page_id:
                return FlowView(draft=_draft(row), spec=spec, page=current)
            answers = dict(row.answers or {})
            answers.update(normalise(current, values, answers))
            errors = _errors(current, answers) or await _foreign_files(s, row.id, current, answers)
            if errors:
                return FlowView(
                    draft=_with(row, answers=answers), spec=spec, page=current, errors=errors
                )
            answers = _drop_hidden(spec, answers)
            following = spec.next_page(current.id, answers)
            if following is None:
                return await self._complete(s, row, answers, actor, context or {})
            history = [*(row.history or []), current.id]
            await self._save(s, row, following.id, answers, history)
            draft = Draft(
                row.id,
                row.flow,
                following.id,
                answers,
                tuple(history),
                row.version + 1,
                row.case_id,
            )
            return FlowView(draft=draft, spec=spec, page=following)

    async def add_items(
        self, *, draft_id: str, actor: Actor, step_id: str, items: list[str]
    ) -> FlowView:
        """Add items (stored file ids) to a list answer without moving the draft on.

        Teams takes evidence as chat attachments, which arrive as messages while the draft
        waits on its files page; each message adds to what was attached before.
        """
        async with self._db.begin() as s:
            row = await self._owned(s, draft_id, actor)
            spec = self.spec(row.flow)
            answers = dict(row.answers or {})
            answers[step_id] = [*(answers.get(step_id) or []), *items]
            await self._save(s, row, row.step, answers, list(row.history or []))
            draft = Draft(
                row.id,
                row.flow,
                row.step,
                answers,
                tuple(row.history or ()),
                row.version + 1,
                row.case_id,
            )
            return FlowView(draft=draft, spec=spec, page=_page_of(spec, row))

    async def back(self, *, draft_id: str, actor: Actor) -> FlowView:
        """Go to the previous page, keeping every answer given."""
        async with self._db.begin() as s:
            row = await self._owned(s, draft_id, actor)
            spec = self.spec(row.flow)
            history = list(row.history or [])
            if not history:
                return FlowView(draft=_draft(row), spec=spec, page=_page_of(spec, row))
            previous = history.pop()
            await self._save(s, row, previous, dict(row.answers or {}), history)
            draft = Draft(
                row.id,
                row.flow,
                previous,
                dict(row.answers or {}),
                tuple(history),
                row.version + 1,
                row.case_id,
            )
            return FlowView(draft=draft, spec=spec, page=spec.page(previous))

    async def discard(self, *, draft_id: str, actor: Actor) -> None:
        """Throw the draft away (the person chose "discard draft")."""
        async with self._db.begin() as s:
            await self._owned(s, draft_id, actor)
            await drafts.set_status(session=s, session_id=draft_id, status="discarded")

    async def _owned(self, s: AsyncSession, draft_id: str, actor: Actor) -> Any:
        row = await drafts.get(session=s, session_id=draft_id)
        if row is None or row.status != "open":
            raise FlowError(
                "This form has already been sent or closed. Start it again "
                "from the command if you need to."
            )
        if row.platform != actor.platform.value or row.user_id != actor.user_id:
            raise FlowError("This form belongs to someone else.")
        return row

    async def _save(
        self, s: AsyncSession, row: Any, step: str, answers: dict[str, Any], history: list[str]
    ) -> None:
        saved = await drafts.save(
            session=s,
            session_id=row.id,
            step=step,
            answers=answers,
            history=history,
            expected_version=row.version,
        )
        if not saved:
            raise FlowError(
                "This form was changed in another window. Please look at the "
                "latest version and try again."
            )

    async def _complete(
        self,
        s: AsyncSession,
        row: Any,
        answers: dict[str, Any],
        actor: Actor,
        context: Mapping[str, Any],
    ) -> FlowDone:
        draft = _with(row, answers=answers)
        await self._save(s, row, row.step, answers, list(row.history or []))
        completion = self._completions.get(row.flow)
        result = await completion(s, draft, actor, context) if completion is not None else None
        await drafts.set_status(session=s, session_id=row.id, status="submitted")
        return FlowDone(draft=draft, result=result)


def _draft(row: Any) -> Draft:
    return Draft(
        row.id,
        row.flow,
        row.step,
        dict(row.answers or {}),
        tuple(row.history or ()),
        row.version,
        row.case_id,
    )


def _with(row: Any, *, answers: dict[str, Any]) -> Draft:
    return Draft(
        row.id, row.flow, row.step, answers, tuple(row.history or ()), row.version, row.case_id
    )


def _page_of(spec: FlowSpec, row: Any) -> Page:
    try:
        return spec.page(row.step)
    except KeyError:
        # The pack changed under a saved draft: go back to the first page, answers kept.
        return spec.visible_pages(row.answers or {})[0]


def _errors(page: Page, answers: Mapping[str, Any]) -> dict[str, str]:
    errors = {}
    for step in page.visible_steps(answers):
        error = validate(step, answers.get(step.id))
        if error:
            errors[step.id] = error
    return errors


async def _foreign_files(
    s: AsyncSession, draft_id: str, page: Page, answers: Mapping[str, Any]
) -> dict[str, str]:
    """A files answer may only name files received and stored for this draft."""
    steps = [step for step in page.visible_steps(answers) if step.kind is StepKind.FILES]
    if not steps:
        return {}
    stored = {f.id for f in await stored_files.list_for_session(session=s, session_id=draft_id)}
    return {
        step.id: "These files were not received. Please attach them again."
        for step in steps
        if any(item not in stored for item in answers.get(step.id) or [])
    }


def _drop_hidden(spec: FlowSpec, answers: dict[str, Any]) -> dict[str, Any]:
    """Forget answers to steps a changed earlier answer now hides (e.g. a role change)."""
    return {
        key: value
        for key, value in answers.items()
        if not _is_step(spec, key) or spec.step(key).visible(answers)
    }


def _is_step(spec: FlowSpec, key: str) -> bool:
    try:
        spec.step(key)
    except KeyError:
        return False
    return True
