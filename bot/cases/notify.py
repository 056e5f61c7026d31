"""Queueing what a case change must send: cards to channels, direct messages to people.

Shared by abuse-report triage and business-case decisions. Everything is written to the
outbox inside the caller's transaction (store first, then tell); the delivery loop sends.
A channel card is keyed by (case, purpose, conversation) so later renderings update it in
place; direct messages carry a dedupe key so a retried transaction cannot send them twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import Card, card_to_json
from bot.model import ConversationRef, Platform
from bot.storage.repos import cards as posted
from bot.storage.repos import events, outbox
from bot.storage.repos.cases import CaseRow
from bot.storage.repos.events import EventRow


async def bound_channels(
    session: AsyncSession, purpose: str, configured_slack: str | None = None
) -> list[ConversationRef]:
    """The channels bound for ``purpose`` on every platform, plus one named in the pack."""
    channels: dict[tuple[str, str], ConversationRef] = {}
    if configured_slack:
        channels[("slack", configured_slack)] = ConversationRef(Platform.SLACK, configured_slack)
    bound = {
        row.platform: row for row in await posted.bindings_for(session=session, purpose=purpose)
    }
    for platform in Platform:
        binding = bound.get(platform.value)
        if binding is not None:
            channels[(platform.value, binding.conversation_id)] = binding.conversation_ref
    return list(channels.values())


async def queue_card(
    session: AsyncSession,
    case: CaseRow,
    purpose: str,
    card: Card,
    channels: Iterable[ConversationRef],
) -> None:
    """Post (or update in place) the case's ``purpose`` card in each channel."""
    for target in channels:
        await outbox.enqueue(
            session=session,
            platform=target.platform.value,
            operation="post",
            target=target.to_json(),
            card=card_to_json(card),
            case_id=case.id,
            card_purpose=purpose,
            dedupe_key=f"{purpose}:{case.id}:{target.platform.value}:"
            f"{target.conversation_id}:{case.version}",
        )


async def send_direct(session: AsyncSession, person: ConversationRef, card: Card, key: str) -> None:
    """A direct message to one person, sent once."""
    await outbox.enqueue(
        session=session,
        platform=person.platform.value,
        operation="dm",
        target=person.to_json(),
        card=card_to_json(card),
        dedupe_key=key,
    )


def people(
    user_ids: Iterable[str], platform: Platform, reply_to: ConversationRef | None
) -> list[ConversationRef]:
    """People chosen with a people picker, as direct-message targets on their platform.

    Teams needs the tenant's service URL, taken from the conversation the choice was made in.
    """
    if platform is Platform.SLACK:
        return [ConversationRef(Platform.SLACK, user_id=user) for user in user_ids]
    if reply_to is None:
        return []
    return [
        ConversationRef(
            Platform.TEAMS,
            user_id=user,
            service_url=reply_to.service_url,
            tenant_id=reply_to.tenant_id,
            bot_id=reply_to.bot_id,
        )
        for user in user_ids
    ]


async def submitted_from(
    session: AsyncSession, case: CaseRow, timeline: Sequence[EventRow] = ()
) -> ConversationRef | None:
    """The conversation the case was submitted from, when it was recorded.

    It is on the case's first event: taken from ``timeline`` when the caller has read it
    already (its first event is the submission), else read.
    """
    if timeline and timeline[0].seq == 1:
        submitted: EventRow | None = timeline[0]
    else:
        submitted = await events.first(session=session, case_id=case.id)
    stored = submitted.detail.get("reply_to") if submitted else None
    return ConversationRef.from_json(stored) if stored else None


async def owner_conversation(
    session: AsyncSession, case: CaseRow, timeline: Sequence[EventRow] = ()
) -> ConversationRef:
    """Where to reach the person who submitted the case: the chat they used, else a DM.

    ``timeline``: the case's whole timeline, when the caller has it (see :func:`submitted_from`).
    """
    conversation = await submitted_from(session, case, timeline)
    if conversation is not None:
        return conversation
    owner = case.reporter_actor
    return ConversationRef(owner.platform, user_id=owner.user_id)


def who_was_first(timeline: list[EventRow]) -> str:
    """What the loser of two simultaneous presses is told: who acted first, and what."""
    last = next((e for e in reversed(timeline) if e.actor_key != "bot"), None)
    who = (last.actor_name or "someone else") if last else "someone else"
    what = last.event.replace("_", " ") if last else "updated"
    return f"{who} already did this first ({what}). Here is the latest card."
