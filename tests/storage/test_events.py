"""Case timelines: numbered, hash-chained, append-only, with internal entries hidden."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cases import notify
from bot.model import ConversationRef, Platform
from bot.storage.repos import cases, events

Sessions = async_sessionmaker[AsyncSession]
MakeCase = Callable[..., Awaitable[cases.CaseRow]]


async def _append(session: AsyncSession, case_id: str, event: str, **extra: object) -> object:
    return await events.append(
        session=session,
        case_id=case_id,
        actor_key="slack:U1",
        actor_name="Alex Ample",
        event=event,
        from_state=extra.pop("from_state", None),  # type: ignore[arg-type]
        to_state=extra.pop("to_state", None),  # type: ignore[arg-type]
        detail={"note": f"{event} — ünïcode"},
        **extra,  # type: ignore[arg-type]
    )


async def test_events_are_numbered_and_chained(make_case: MakeCase, sessions: Sessions) -> None:
    case = await make_case()
    other = await make_case()
    async with sessions() as session, session.begin():
        await _append(session, case.id, "submitted", to_state="new")
        await _append(session, other.id, "submitted", to_state="new")
        await _append(session, case.id, "note_added", internal=True)
        await _append(session, case.id, "acknowledged", from_state="new", to_state="acknowledged")
    async with sessions() as session:
        full = await events.timeline(session=session, case_id=case.id)
        public = await events.timeline(session=session, case_id=case.id, include_internal=False)
    assert [e.seq for e in full] == [1, 2, 3]
    assert [e.event for e in public] == ["submitted", "acknowledged"]
    assert full[0].prev_hash == events.GENESIS_HASH
    assert [e.prev_hash for e in full[1:]] == [e.hash for e in full[:-1]]
    assert len({e.hash for e in full}) == 3
    assert full[0].at.tzinfo is not None
    # Recomputed from what was read back: the hashes survive the database round trip.
    assert events.verify_chain(full)


async def test_tampering_breaks_the_chain(make_case: MakeCase, sessions: Sessions) -> None:
    case = await make_case()
    async with sessions() as session, session.begin():
        for name in ("submitted", "acknowledged", "closed"):
            await _append(session, case.id, name)
        full = await events.timeline(session=session, case_id=case.id)
    assert events.verify_chain(full)
    edited = dataclasses.replace(full[1], detail={"note": "nothing happened"})
    assert not events.verify_chain([full[0], edited, full[2]])
    assert not events.verify_chain([full[0], full[2]])  # an event removed
    assert not events.verify_chain([full[1], full[0], full[2]])  # reordered


async def test_appending_to_a_missing_case_fails(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(LookupError):
            await _append(session, "f" * 32, "submitted")


async def test_concurrent_appends_keep_one_chain(make_case: MakeCase, sessions: Sessions) -> None:
    case = await make_case()

    async def add(number: int) -> None:
        async with sessions() as session, session.begin():
            await _append(session, case.id, f"note_{number}")

    await asyncio.gather(*(add(n) for n in range(8)))
    async with sessions() as session:
        full = await events.timeline(session=session, case_id=case.id)
    assert [e.seq for e in full] == list(range(1, 9))
    assert events.verify_chain(full)


def test_repository_offers_no_update_or_delete() -> None:
    public = {name for name in dir(events) if not name.startswith("_")}
    assert not {name for name in public if "update" in name or "delete" in name}


async def test_the_submitters_conversation_reads_the_same_from_a_timeline_in_hand(
    make_case: MakeCase, sessions: Sessions
) -> None:
    """A press that has the timeline already takes the reply-to from its first event
    instead of reading it again; the answer is the same either way."""
    case = await make_case()
    chat = ConversationRef(Platform.TEAMS, conversation_id="a:chat", service_url="http://x")
    async with sessions() as session, session.begin():
        await events.append(
            session=session,
            case_id=case.id,
            actor_key="teams:U1",
            actor_name="Alex",
            event="submitted",
            from_state=None,
            to_state="new",
            detail={"reply_to": chat.to_json()},
        )
        await _append(session, case.id, "acknowledged", from_state="new", to_state="ack")
    async with sessions() as session:
        full = await events.timeline(session=session, case_id=case.id)
        read = await notify.owner_conversation(session, case)
        in_hand = await notify.owner_conversation(session, case, full)
        # Only a timeline that starts at the submission stands in for reading it.
        partial = await notify.owner_conversation(session, case, full[1:])
    assert read == in_hand == partial == chat


async def test_an_appended_event_is_returned_as_it_reads_back(
    make_case: MakeCase, sessions: Sessions
) -> None:
    """append() builds its row from what it wrote (only the id comes back from the INSERT):
    it must equal the row read back, its aware times and detail included."""
    case = await make_case()
    async with sessions() as session, session.begin():
        first = await _append(session, case.id, "submitted", to_state="new")
        second = await _append(session, case.id, "acknowledged", from_state="new", to_state="a")
    async with sessions() as session:
        assert await events.timeline(session=session, case_id=case.id) == [first, second]
