"""Cases: create and read, optimistic concurrency, listing, versions, reference numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import Actor, Platform
from bot.storage.repos import cases

Sessions = async_sessionmaker[AsyncSession]
MakeCase = Callable[..., Awaitable[cases.CaseRow]]


async def test_create_and_read_back(sessions: Sessions, reporter: Actor) -> None:
    async with sessions() as session, session.begin():
        created = await cases.create(
            session=session,
            kind="abuse_report",
            reference="AB-2026-0001",
            state="new",
            reporter=reporter,
            data={"what": "threats", "channels": ["phone", "email"]},
            urgent=True,
        )
    async with sessions() as session:
        by_id = await cases.get(session=session, case_id=created.id)
        by_reference = await cases.get_by_reference(session=session, reference="AB-2026-0001")
    assert by_id == by_reference
    assert by_id is not None
    assert len(by_id.id) == 32 and int(by_id.id, 16) >= 0
    assert (by_id.version, by_id.urgent, by_id.state) == (1, True, "new")
    assert by_id.reporter_key == "slack:U0REPORTER"
    assert by_id.reporter_actor == reporter
    assert by_id.data == {"what": "threats", "channels": ["phone", "email"]}
    assert by_id.created_at.tzinfo is not None and by_id.created_at.utcoffset() == timedelta(0)
    assert by_id.created_at == created.created_at


async def test_missing_case_is_none(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await cases.get(session=session, case_id="0" * 32) is None
        assert await cases.get_by_reference(session=session, reference="AB-1999-0001") is None


async def test_reference_is_unique(
    make_case: MakeCase, sessions: Sessions, reporter: Actor
) -> None:
    first = await make_case()
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await cases.create(
                session=session,
                kind="abuse_report",
                reference=first.reference,
                state="new",
                reporter=reporter,
                data={},
            )


async def test_update_bumps_version_and_refuses_stale_versions(
    make_case: MakeCase, sessions: Sessions
) -> None:
    case = await make_case()
    handler = Actor(Platform.TEAMS, "29:handler", "Hana Handler")
    closed = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        assert await cases.update(
            session=session,
            case_id=case.id,
            expected_version=1,
            state="acknowledged",
            assignee=handler,
            closed_at=closed,
        )
        assert not await cases.update(
            session=session, case_id=case.id, expected_version=1, state="closed"
        )
        current = await cases.get(session=session, case_id=case.id)
    assert current is not None
    assert (current.state, current.version) == ("acknowledged", 2)
    assert current.assignee_actor == handler and current.assignee_key == "teams:29:handler"
    assert current.closed_at == closed
    assert current.updated_at >= case.updated_at


async def test_changed_returns_the_case_as_a_fresh_read_would(
    make_case: MakeCase, sessions: Sessions
) -> None:
    case = await make_case()
    async with sessions() as session, session.begin():
        returned = await cases.changed(
            session=session, case_id=case.id, expected_version=1, state="acknowledged"
        )
        read = await cases.get(session=session, case_id=case.id)
        stale = await cases.changed(
            session=session, case_id=case.id, expected_version=1, state="closed"
        )
    assert returned is not None and returned == read
    assert (returned.state, returned.version) == ("acknowledged", 2)
    assert stale is None


async def test_update_refuses_fixed_fields(make_case: MakeCase, sessions: Sessions) -> None:
    case = await make_case()
    async with sessions() as session:
        with pytest.raises(TypeError, match="reference"):
            await cases.update(session=session, case_id=case.id, expected_version=1, reference="X")


async def test_concurrent_updates_with_same_version_exactly_one_wins(
    make_case: MakeCase, sessions: Sessions
) -> None:
    case = await make_case()

    async def acknowledge(by: str) -> bool:
        # Both presses come from the same card, which carries version 1; each service call
        # reads the case, then writes: the read-then-write must not error on either backend.
        async with sessions() as session, session.begin():
            assert await cases.get(session=session, case_id=case.id) is not None
            await asyncio.sleep(0.01)
            return await cases.update(
                session=session,
                case_id=case.id,
                expected_version=case.version,
                state="acknowledged",
                data={"acknowledged_by": by},
            )

    results = await asyncio.gather(acknowledge("alice"), acknowledge("bob"))
    assert sorted(results) == [False, True]
    async with sessions() as session:
        final = await cases.get(session=session, case_id=case.id)
    assert final is not None and final.version == 2
    winner = "alice" if results[0] else "bob"
    assert final.data == {"acknowledged_by": winner}


async def test_list_filters_and_pages(make_case: MakeCase, sessions: Sessions) -> None:
    first = await make_case(state="new")
    second = await make_case(state="acknowledged")
    third = await make_case(kind="business_case", state="submitted")
    async with sessions() as session:
        reports = await cases.list(session=session, kind="abuse_report")
        open_reports = await cases.list(session=session, kind="abuse_report", states=["new"])
        mine = await cases.list(session=session, reporter_key="slack:U0REPORTER", limit=2)
        rest = await cases.list(session=session, reporter_key="slack:U0REPORTER", offset=2)
        nobody = await cases.list(session=session, reporter_key="slack:UNOBODY")
    assert {row.id for row in reports} == {first.id, second.id}
    assert [row.id for row in open_reports] == [first.id]
    assert len(mine) == 2 and len(rest) == 1
    assert {row.id for row in mine + rest} == {first.id, second.id, third.id}
    assert nobody == []


async def test_versions_are_numbered_per_case(make_case: MakeCase, sessions: Sessions) -> None:
    case = await make_case(kind="business_case", state="submitted")
    other = await make_case(kind="business_case", state="submitted")
    async with sessions() as session, session.begin():
        one = await cases.add_version(
            session=session, case_id=case.id, data={"page": "v1"}, created_by="slack:U1"
        )
        two = await cases.add_version(
            session=session, case_id=case.id, data={"page": "v2"}, created_by="slack:U1"
        )
        elsewhere = await cases.add_version(
            session=session, case_id=other.id, data={"page": "x"}, created_by="slack:U2"
        )
    async with sessions() as session:
        versions = await cases.list_versions(session=session, case_id=case.id)
    assert (one.number, two.number, elsewhere.number) == (1, 2, 1)
    assert [(v.number, v.data) for v in versions] == [(1, {"page": "v1"}), (2, {"page": "v2"})]
    assert versions[0].created_at.tzinfo is not None


async def test_reference_numbers_count_per_prefix_and_year(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        got = [
            await cases.next_reference(session=session, prefix="AB", year=2026),
            await cases.next_reference(session=session, prefix="AB", year=2026),
            await cases.next_reference(session=session, prefix="BC", year=2026),
            await cases.next_reference(session=session, prefix="AB", year=2027),
        ]
    assert got == ["AB-2026-0001", "AB-2026-0002", "BC-2026-0001", "AB-2027-0001"]


async def test_fifty_concurrent_reference_allocations_are_unique(sessions: Sessions) -> None:
    async def allocate() -> str:
        async with sessions() as session, session.begin():
            return await cases.next_reference(session=session, prefix="AB", year=2026)

    references = await asyncio.gather(*(allocate() for _ in range(50)))
    assert sorted(references) == [f"AB-2026-{n:04d}" for n in range(1, 51)]
