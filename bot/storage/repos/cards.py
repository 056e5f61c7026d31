"""Posted cards and channel bindings: where the bot's messages about a case live.

A triage card is updated in place when its case changes, so the message reference of each
card posted for a case is recorded (one per case, purpose and conversation). Channel
bindings say which conversation on each platform plays which role, set by an
administrator with a command, one per purpose and platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import ConversationRef, MessageRef
from bot.storage.repos._common import fresh, to_row, upsert
from bot.storage.tables import ChannelBinding, PostedCard
from bot.storage.types import utcnow


@dataclass(frozen=True, slots=True)
class PostedCardRow:
    """A card posted for a case; ``conversation`` is a ``ConversationRef.to_json()`` dict."""

    id: int
    case_id: str
    purpose: str
    platform: str
    conversation_id: str
    conversation: dict[str, Any]
    message_id: str
    created_at: datetime
    updated_at: datetime

    @property
    def message_ref(self) -> MessageRef:
        """Where to send an update of this card."""
        return MessageRef(ConversationRef.from_json(self.conversation), self.message_id)


@dataclass(frozen=True, slots=True)
class BindingRow:
    """A conversation bound to a purpose (``"abuse_triage"``, …) on one platform."""

    id: int
    purpose: str
    platform: str
    conversation_id: str
    conversation: dict[str, Any]
    bound_by: str
    bound_at: datetime

    @property
    def conversation_ref(self) -> ConversationRef:
        """The bound conversation as a neutral reference."""
        return ConversationRef.from_json(self.conversation)


async def record_posted(
    *, session: AsyncSession, case_id: str, purpose: str, message: MessageRef
) -> PostedCardRow:
    """Remember (or replace) the message carrying a case's ``purpose`` card in a conversation."""
    now = utcnow()
    conversation = message.conversation
    values = {
        "case_id": case_id,
        "purpose": purpose,
        "platform": conversation.platform.value,
        "conversation_id": conversation.conversation_id,
        "conversation": conversation.to_json(),
        "message_id": message.message_id,
        "created_at": now,
        "updated_at": now,
    }
    await session.execute(
        upsert(
            session,
            PostedCard,
            values,
            conflict=("case_id", "purpose", "platform", "conversation_id"),
            update_values={
                "conversation": values["conversation"],
                "message_id": message.message_id,
                "updated_at": now,
            },
        )
    )
    statement = select(PostedCard).where(
        PostedCard.case_id == case_id,
        PostedCard.purpose == purpose,
        PostedCard.platform == values["platform"],
        PostedCard.conversation_id == conversation.conversation_id,
    )
    return to_row(PostedCardRow, (await session.scalars(fresh(statement))).one())


async def list_posted(
    *, session: AsyncSession, case_id: str, purpose: str | None = None
) -> list[PostedCardRow]:
    """The cards posted for a case, optionally only those of one purpose, oldest first."""
    statement = select(PostedCard).where(PostedCard.case_id == case_id)
    if purpose is not None:
        statement = statement.where(PostedCard.purpose == purpose)
    rows = await session.scalars(fresh(statement.order_by(PostedCard.id)))
    return [to_row(PostedCardRow, row) for row in rows]


async def bind_channel(
    *,
    session: AsyncSession,
    purpose: str,
    platform: str,
    conversation: ConversationRef,
    bound_by: str,
) -> BindingRow:
    """Bind ``conversation`` to ``purpose`` on ``platform``, replacing any earlier binding."""
    now = utcnow()
    values = {
        "purpose": purpose,
        "platform": platform,
        "conversation_id": conversation.conversation_id,
        "conversation": conversation.to_json(),
        "bound_by": bound_by,
        "bound_at": now,
    }
    changes = {key: values[key] for key in ("conversation_id", "conversation", "bound_by")}
    await session.execute(
        upsert(
            session,
            ChannelBinding,
            values,
            conflict=("purpose", "platform"),
            update_values={**changes, "bound_at": now},
        )
    )
    binding = await get_binding(session=session, purpose=purpose, platform=platform)
    assert binding is not None  # just written in this transaction
    return binding


async def get_binding(*, session: AsyncSession, purpose: str, platform: str) -> BindingRow | None:
    """The conversation bound to ``purpose`` on ``platform``, or ``None`` if not set up yet."""
    statement = select(ChannelBinding).where(
        ChannelBinding.purpose == purpose, ChannelBinding.platform == platform
    )
    row = await session.scalar(fresh(statement))
    return to_row(BindingRow, row) if row else None
