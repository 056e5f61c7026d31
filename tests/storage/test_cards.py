"""Posted cards (for updates in place) and channel bindings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import ConversationRef, MessageRef, Platform
from bot.storage.repos import cards, cases

Sessions = async_sessionmaker[AsyncSession]
MakeCase = Callable[..., Awaitable[cases.CaseRow]]
TRIAGE = ConversationRef(Platform.SLACK, "C0TRIAGE")
TEAMS_CHANNEL = ConversationRef(
    Platform.TEAMS, "19:abc@thread.tacv2", service_url="https://smba.example/", tenant_id="t1"
)


async def test_record_posted_upserts_per_conversation(
    make_case: MakeCase, sessions: Sessions
) -> None:
    case = await make_case()
    async with sessions() as session, session.begin():
        first = await cards.record_posted(
            session=session, case_id=case.id, purpose="triage", message=MessageRef(TRIAGE, "1.1")
        )
        again = await cards.record_posted(
            session=session, case_id=case.id, purpose="triage", message=MessageRef(TRIAGE, "2.2")
        )
        await cards.record_posted(
            session=session,
            case_id=case.id,
            purpose="triage",
            message=MessageRef(TEAMS_CHANNEL, "act-1"),
        )
        await cards.record_posted(
            session=session, case_id=case.id, purpose="status", message=MessageRef(TRIAGE, "3.3")
        )
    async with sessions() as session:
        triage = await cards.list_posted(session=session, case_id=case.id, purpose="triage")
        every = await cards.list_posted(session=session, case_id=case.id)
    assert again.id == first.id and again.message_id == "2.2"
    assert [row.message_ref for row in triage] == [
        MessageRef(TRIAGE, "2.2"),
        MessageRef(TEAMS_CHANNEL, "act-1"),
    ]
    assert len(every) == 3


async def test_bind_channel_replaces_the_binding(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        assert (
            await cards.get_binding(session=session, purpose="abuse_triage", platform="slack")
            is None
        )
        first = await cards.bind_channel(
            session=session,
            purpose="abuse_triage",
            platform="slack",
            conversation=TRIAGE,
            bound_by="slack:UADMIN",
        )
        moved = await cards.bind_channel(
            session=session,
            purpose="abuse_triage",
            platform="slack",
            conversation=ConversationRef(Platform.SLACK, "C0NEW"),
            bound_by="slack:UADMIN2",
        )
        await cards.bind_channel(
            session=session,
            purpose="abuse_triage",
            platform="teams",
            conversation=TEAMS_CHANNEL,
            bound_by="teams:admin",
        )
    async with sessions() as session:
        slack = await cards.get_binding(session=session, purpose="abuse_triage", platform="slack")
        teams = await cards.get_binding(session=session, purpose="abuse_triage", platform="teams")
    assert slack is not None and teams is not None
    assert moved.id == first.id == slack.id
    assert slack.conversation_ref == ConversationRef(Platform.SLACK, "C0NEW")
    assert slack.bound_by == "slack:UADMIN2"
    assert teams.conversation_ref == TEAMS_CHANNEL


async def test_bindings_for_a_purpose_are_found_in_one_look_up(sessions: Sessions) -> None:
    slack = ConversationRef(Platform.SLACK, "C0TRIAGE")
    teams = ConversationRef(Platform.TEAMS, "19:triage@thread.tacv2")
    async with sessions() as session, session.begin():
        assert await cards.bindings_for(session=session, purpose="abuse_triage") == []
        for conversation in (slack, teams):
            await cards.bind_channel(
                session=session,
                purpose="abuse_triage",
                platform=conversation.platform.value,
                conversation=conversation,
                bound_by="slack:U0ADMIN",
            )
        await cards.bind_channel(
            session=session,
            purpose="board",
            platform="slack",
            conversation=ConversationRef(Platform.SLACK, "C0BOARD"),
            bound_by="slack:U0ADMIN",
        )
    async with sessions() as session:
        found = await cards.bindings_for(session=session, purpose="abuse_triage")
        one_by_one = [
            await cards.get_binding(session=session, purpose="abuse_triage", platform=p)
            for p in ("slack", "teams")
        ]
    assert found == one_by_one
    assert [row.conversation_ref for row in found] == [slack, teams]
