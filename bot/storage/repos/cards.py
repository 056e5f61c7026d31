"""Posted cards and channel bindings: where the bot's messages about a case live.

A triage card is updated in place when its case changes, so the message reference of each
card posted for a case is recorded (one per case, purpose and conversation). Channel
bindings say which conversation on each platform plays which role, set by an
administrator with a command, one per purpose and platform.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import ConversationRef, MessageRef
from bot.storage.repos._common import dialect_insert, dialect_of, fresh, to_row, upsert
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
    # The row as written comes back from the upsert itself: no second statement to read it.
    row = (await session.execute(_record_statement(dialect_of(session)), values)).one()
    return PostedCardRow(*row)


@functools.cache
def _record_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (case, purpose, platform, conversation) DO UPDATE … RETURNING``.

    Built once per dialect; the values are given when it runs. A clash replaces the
    conversation, message and ``updated_at`` with the new row's (``created_at`` stays).
    """
    statement = dialect_insert(dialect, PostedCard)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["case_id", "purpose", "platform", "conversation_id"],
        set_={
            "conversation": new.conversation,
            "message_id": new.message_id,
            "updated_at": new.updated_at,
        },
    ).returning(*_columns())


async def list_posted(
    *, session: AsyncSession, case_id: str, purpose: str | None = None
) -> list[PostedCardRow]:
    """The cards posted for a case, optionally only those of one purpose, oldest first."""
    posted = await posted_for(session=session, case_ids=[case_id])
    return [card for card in posted if purpose is None or card.purpose == purpose]


async def posted_for(*, session: AsyncSession, case_ids: Iterable[str]) -> list[PostedCardRow]:
    """The cards posted for any of ``case_ids``, oldest first, in one query (built once)."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return []
    return [PostedCardRow(*row) for row in await session.execute(_posted_for(), {"cases": wanted})]


@functools.cache
def _posted_for() -> Any:
    table = cast(Table, PostedCard.__table__)
    cases = table.c.case_id.in_(bindparam("cases", expanding=True))
    return select(*_columns()).where(cases).order_by(table.c.id)


def _columns() -> list[Any]:
    """The posted cards' columns in the order of ``PostedCardRow``'s fields."""
    table = cast(Table, PostedCard.__table__)
    return [table.c[field.name] for field in fields(PostedCardRow)]


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


_BINDINGS = cast(Table, ChannelBinding.__table__)
# Built once: every press and every new report looks up where its cards go.
_BOUND_FOR = (
    select(_BINDINGS)
    .where(_BINDINGS.c.purpose == bindparam("purpose"))
    .order_by(_BINDINGS.c.platform)
)


async def bindings_for(*, session: AsyncSession, purpose: str) -> list[BindingRow]:
    """Every platform's conversation bound to ``purpose`` (one look-up for all of them)."""
    rows = await session.execute(_BOUND_FOR, {"purpose": purpose})
    return [to_row(BindingRow, row) for row in rows]


async def get_binding(*, session: AsyncSession, purpose: str, platform: str) -> BindingRow | None:
    """The conversation bound to ``purpose`` on ``platform``, or ``None`` if not set up yet."""
    statement = select(ChannelBinding).where(
        ChannelBinding.purpose == purpose, ChannelBinding.platform == platform
    )
    row = await session.scalar(fresh(statement))
    return to_row(BindingRow, row) if row else None
