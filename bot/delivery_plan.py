"""What a claimed batch of outbox rows sends, decided in the claim's own transaction.

A case card is one message per (case, purpose, conversation). Of several renderings of one
card claimed together only the newest is sent; the older ones, and a newest one that a
later rendering has already overtaken (queued or sent since), are marked superseded, so a
card never goes back to an older state. For each row that is sent, the plan says where its
card already is (updated in place) or that it is new (posted, then recorded).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import MessageRef
from bot.storage.repos import cards as posted_cards
from bot.storage.repos import outbox


@dataclass(frozen=True)
class Planned:
    """A row to send, the card it renders (``card_key``), and where that card already is."""

    key: tuple[Any, ...]
    row: Any
    existing: MessageRef | None = None


async def plan(session: AsyncSession, rows: list[Any]) -> list[Planned]:
    """What to send of the claimed ``rows``, each with where its case card already is.

    Of several renderings of one card only the newest is sent; the others, and a newest
    one that a later rendering (claimed elsewhere, or sent) has overtaken, are marked
    superseded here.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(card_key(row), []).append(row)
    planned: list[Planned] = []
    for key, group in groups.items():
        group.sort(key=lambda r: r.id)
        if not group[0].card_purpose:
            planned.extend(Planned(key, row) for row in group)
            continue
        *stale, newest = group
        overtaken, existing = await card_state(session, newest)
        for row in [*stale, newest] if overtaken else stale:
            await outbox.mark_sent(session=session, outbox_id=row.id, message_id="superseded")
        if not overtaken:
            planned.append(Planned(key, newest, existing))
    return planned


async def card_state(session: AsyncSession, row: Any) -> tuple[bool, MessageRef | None]:
    """Whether a newer rendering has overtaken ``row``, and where its case's card already is
    in the row's conversation."""
    if await outbox.newer_card_exists(session=session, row=row):
        return True, None
    if not row.case_id or row.operation != "post":
        return False, None
    posted = await posted_cards.list_posted(
        session=session, case_id=row.case_id, purpose=row.card_purpose
    )
    existing = _matching(posted, row.platform, (row.target or {}).get("conversation_id", ""))
    return False, None if existing is None else existing.message_ref


def card_key(row: Any) -> tuple[Any, ...]:
    """What rows for the same message share: a case card's identity, else the row's own."""
    if row.case_id and row.card_purpose and row.operation == "post":
        conversation = (row.target or {}).get("conversation_id", "")
        return ("card", row.case_id, row.card_purpose, row.platform, conversation)
    return ("row", row.id)


def _matching(posted: Iterable[Any], platform: str, conversation_id: str) -> Any:
    for card in posted:
        if card.platform == platform and card.conversation_id == conversation_id:
            return card
    return None
