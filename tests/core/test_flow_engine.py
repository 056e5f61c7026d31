"""The flow engine on a real SQLite file: pages, validation, branches, back, discard, resume.

And two starts racing, on both backends: on PostgreSQL on connections of their own, the
loser's insert waiting for the winner's transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.engine import Draft, FlowDone, FlowEngine, FlowError, FlowView
from bot.flows.spec import FlowSpec, Page, Step, StepKind, When
from bot.model import Actor, Platform
from bot.storage.engine import create_engine, session_factory
from bot.storage.migrate import upgrade
from bot.storage.repos import sessions
from tests.support.backends import BACKENDS, database_url

SPEC = FlowSpec(
    name="demo",
    title="Demo",
    pages=(
        Page(
            "first",
            "First",
            (
                Step("danger", StepKind.YES_NO, "In danger?"),
                Step("name", StepKind.TEXT, "Name", max_length=10),
            ),
        ),
        Page(
            "advice",
            "Advice",
            (Step("police", StepKind.INFO, "Call 999", when=When("danger", ("yes",))),),
        ),
        Page(
            "details",
            "Details",
            (
                Step("kinds", StepKind.MULTI_CHOICE, "Kinds", options=(("a", "A"), ("b", "B"))),
                Step("when", StepKind.DATE, "When", required=False),
            ),
        ),
        Page("review", "Review", (Step("confirm", StepKind.CONFIRM, "Send?"),)),
    ),
)
ME = Actor(Platform.SLACK, "U1", "Me")
SOMEONE_ELSE = Actor(Platform.SLACK, "U2", "Other")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'flows.db'}"
    await upgrade(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def db_on_each_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database on each backend: a SQLite file (one connection, so transactions
    queue for it) or a fresh PostgreSQL database (a pool of connections)."""
    url = database_url(request, tmp_path)
    await upgrade(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


class Recorder:
    def __init__(self) -> None:
        self.completed: list[dict[str, Any]] = []

    async def __call__(
        self, session: AsyncSession, draft: Draft, actor: Actor, context: Any
    ) -> str:
        self.completed.append(draft.answers)
        return "REF-1"


def engine_for(db: async_sessionmaker[AsyncSession], recorder: Recorder) -> FlowEngine:
    return FlowEngine(db=db, specs={"demo": SPEC}, completions={"demo": recorder})


async def answer(engine: FlowEngine, view: FlowView, values: dict[str, Any]) -> FlowView | FlowDone:
    return await engine.answer(
        draft_id=view.draft.id, actor=ME, page_id=view.page.id, values=values
    )


async def test_walks_every_page_and_completes_once(db: async_sessionmaker[AsyncSession]) -> None:
    recorder = Recorder()
    engine = engine_for(db, recorder)
    view = await engine.start(actor=ME, flow="demo")
    assert view.page.id == "first" and not view.can_go_back
    view = await answer(engine, view, {"danger": "yes", "name": " Sam "})
    assert isinstance(view, FlowView) and view.page.id == "advice"
    view = await answer(engine, view, {})
    assert isinstance(view, FlowView) and view.page.id == "details"
    view = await answer(engine, view, {"kinds": "a,b", "when": "2026-01-02"})
    assert isinstance(view, FlowView) and view.is_last
    done = await answer(engine, view, {"confirm": ["yes"]})
    assert isinstance(done, FlowDone) and done.result == "REF-1"
    assert recorder.completed == [
        {
            "danger": "yes",
            "name": "Sam",
            "kinds": ["a", "b"],
            "when": "2026-01-02",
            "confirm": "yes",
        }
    ]
    async with db() as s:
        assert (
            await sessions.get_open(session=s, platform="slack", user_id="U1", flow="demo") is None
        )
    with pytest.raises(FlowError):
        await answer(engine, view, {"confirm": ["yes"]})
    assert len(recorder.completed) == 1


async def test_a_branch_not_taken_is_skipped(db: async_sessionmaker[AsyncSession]) -> None:
    engine = engine_for(db, Recorder())
    view = await engine.start(actor=ME, flow="demo")
    view = await answer(engine, view, {"danger": "no", "name": "Sam"})
    assert isinstance(view, FlowView) and view.page.id == "details"
    assert view.position == (2, 3)


async def test_errors_are_on_the_field_and_nothing_moves(
    db: async_sessionmaker[AsyncSession],
) -> None:
    engine = engine_for(db, Recorder())
    view = await engine.start(actor=ME, flow="demo")
    again = await answer(engine, view, {"danger": "maybe", "name": "x" * 11})
    assert isinstance(again, FlowView) and again.page.id == "first"
    assert set(again.errors) == {"danger", "name"}
    assert "10 characters" in again.errors["name"]
    blank = await answer(engine, view, {"danger": "", "name": "   "})
    assert isinstance(blank, FlowView)
    assert blank.errors["danger"] == "Please answer this question."


async def test_back_keeps_answers_and_a_changed_branch_forgets_hidden_ones(
    db: async_sessionmaker[AsyncSession],
) -> None:
    engine = engine_for(db, Recorder())
    view = await engine.start(actor=ME, flow="demo")
    view = await answer(engine, view, {"danger": "yes", "name": "Sam"})
    assert isinstance(view, FlowView)
    back = await engine.back(draft_id=view.draft.id, actor=ME)
    assert back.page.id == "first" and back.draft.answers["name"] == "Sam"
    view = await answer(engine, back, {"danger": "no", "name": "Sam"})
    assert isinstance(view, FlowView) and view.page.id == "details"


async def test_resume_after_a_restart(db: async_sessionmaker[AsyncSession]) -> None:
    view = await engine_for(db, Recorder()).start(actor=ME, flow="demo")
    await answer(engine_for(db, Recorder()), view, {"danger": "no", "name": "Sam"})
    resumed = await engine_for(db, Recorder()).start(actor=ME, flow="demo")
    assert resumed.resumed and resumed.page.id == "details"
    assert resumed.draft.answers == {"danger": "no", "name": "Sam"}
    assert resumed.draft.id == view.draft.id


async def test_a_start_that_loses_a_race_shows_the_draft_that_won(
    db_on_each_backend: async_sessionmaker[AsyncSession],
) -> None:
    """Two starts at once (a double click, two devices): one draft, the second resumes it.

    On PostgreSQL the two run on connections of their own, and the winner commits only once
    the loser's insert waits for it (``ON CONFLICT`` waits for the transaction that holds
    the clashing row): the loser then skips the clash and reads the draft that won.
    """
    db = db_on_each_backend
    if db.kw["bind"].dialect.name == "postgresql":
        db = cast(async_sessionmaker[AsyncSession], FirstCommitWaits(db, until=an_insert_waits))
    engine = engine_for(db, Recorder())
    views = await asyncio.gather(*(engine.start(actor=ME, flow="demo") for _ in range(2)))
    assert sorted(view.resumed for view in views) == [False, True]
    assert views[0].draft.id == views[1].draft.id
    async with db_on_each_backend() as s:
        drafts = await sessions.list_open(session=s, platform=ME.platform.value, user_id=ME.user_id)
    assert [draft.id for draft in drafts] == [views[0].draft.id]


class FirstCommitWaits:
    """A session factory whose first transaction to finish waits for ``until`` to be true
    before it commits; every later one commits at once."""

    def __init__(
        self, db: async_sessionmaker[AsyncSession], until: Callable[[AsyncSession], Awaitable[bool]]
    ) -> None:
        self._db = db
        self._until = until
        self._waited = False

    def __call__(self) -> AsyncSession:
        return self._db()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        async with self._db.begin() as session:
            yield session
            if not self._waited:
                self._waited = True
                await self._wait()

    async def _wait(self) -> None:
        deadline = time.monotonic() + 20
        async with self._db() as probe:
            while not await self._until(probe):
                assert time.monotonic() < deadline, "not within 20 s"
                await asyncio.sleep(0.02)
                await probe.rollback()  # a fresh snapshot of pg_stat_activity each time


async def an_insert_waits(probe: AsyncSession) -> bool:
    """True while an insert of a draft in this database waits for another's lock."""
    waiting = await probe.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO flow_sessions%'"
        )
    )
    return bool(waiting)


async def test_a_new_draft_costs_one_statement_and_a_resume_two(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """The insert goes first; the open draft is read only when the insert clashes with it."""
    engine = engine_for(db, Recorder())
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT")):
            statements.append(statement.split()[0])

    bind = db.kw["bind"].sync_engine
    event.listen(bind, "before_cursor_execute", seen)
    try:
        new = await engine.start(actor=ME, flow="demo")
        assert statements == ["INSERT"] and not new.resumed
        statements.clear()
        again = await engine.start(actor=ME, flow="demo")
        assert statements == ["INSERT", "SELECT"] and again.resumed
        assert again.draft.id == new.draft.id
    finally:
        event.remove(bind, "before_cursor_execute", seen)


async def test_discard_then_start_again_is_a_fresh_draft(
    db: async_sessionmaker[AsyncSession],
) -> None:
    engine = engine_for(db, Recorder())
    view = await engine.start(actor=ME, flow="demo")
    await answer(engine, view, {"danger": "no", "name": "Sam"})
    await engine.discard(draft_id=view.draft.id, actor=ME)
    fresh = await engine.start(actor=ME, flow="demo")
    assert not fresh.resumed and fresh.draft.id != view.draft.id and fresh.draft.answers == {}


async def test_another_person_cannot_touch_my_draft(db: async_sessionmaker[AsyncSession]) -> None:
    engine = engine_for(db, Recorder())
    view = await engine.start(actor=ME, flow="demo")
    with pytest.raises(FlowError, match="someone else"):
        await engine.answer(
            draft_id=view.draft.id,
            actor=SOMEONE_ELSE,
            page_id="first",
            values={"danger": "no", "name": "x"},
        )


async def test_a_stale_page_submit_changes_nothing(db: async_sessionmaker[AsyncSession]) -> None:
    engine = engine_for(db, Recorder())
    view = await engine.start(actor=ME, flow="demo")
    moved = await answer(engine, view, {"danger": "no", "name": "Sam"})
    stale = await answer(engine, view, {"danger": "yes", "name": "Other"})
    assert isinstance(moved, FlowView) and isinstance(stale, FlowView)
    assert stale.page.id == "details" and stale.draft.answers["name"] == "Sam"


async def test_a_failing_completion_leaves_the_draft_open(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async def broken(session: AsyncSession, draft: Draft, actor: Actor, context: Any) -> None:
        raise RuntimeError("database went away")

    engine = FlowEngine(db=db, specs={"demo": SPEC}, completions={"demo": broken})
    view = await engine.start(actor=ME, flow="demo")
    for values in ({"danger": "no", "name": "Sam"}, {"kinds": ["a"]}):
        result = await answer(engine, view, values)
        assert isinstance(result, FlowView)
        view = result
    with pytest.raises(RuntimeError):
        await answer(engine, view, {"confirm": "yes"})
    resumed = await engine.start(actor=ME, flow="demo")
    assert resumed.resumed and resumed.page.id == "review"


def test_spec_refuses_duplicate_step_ids() -> None:
    step = Step("x", StepKind.TEXT, "X")
    with pytest.raises(ValueError, match="duplicate"):
        FlowSpec(name="bad", title="Bad", pages=(Page("a", "A", (step,)), Page("b", "B", (step,))))
