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
    superseded here. The look-ups are made for the whole batch at once: the later
    renderings, the posted cards, and one statement for the superseded marks.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(card_key(row), []).append(row)
    plain: list[Planned] = []
    cards: list[tuple[tuple[Any, ...], list[Any]]] = []
    for key, group in groups.items():
        group.sort(key=lambda r: r.id)
        if group[0].card_purpose:
            cards.append((key, group))
        else:
            plain.extend(Planned(key, row) for row in group)
    states = await card_states(session, [group[-1] for _, group in cards])
    planned: list[Planned] = []
    superseded: list[Any] = []
    for key, group in cards:
        *stale, newest = group
        overtaken, existing = states[newest.id]
        superseded += [*stale, newest] if overtaken else stale
        if not overtaken:
            planned.append(Planned(key, newest, existing))
    await outbox.mark_all_sent(session=session, sent=[(row.id, "superseded") for row in superseded])
    # In the order the groups were claimed, as before the look-ups were batched.
    order = {key: number for number, key in enumerate(groups)}
    return sorted([*plain, *planned], key=lambda each: order[each.key])


async def card_state(session: AsyncSession, row: Any) -> tuple[bool, MessageRef | None]:
    """Whether a newer rendering has overtaken ``row``, and where its case's card already is
    in the row's conversation."""
    return (await card_states(session, [row]))[row.id]


async def card_states(
    session: AsyncSession, rows: list[Any]
) -> dict[int, tuple[bool, MessageRef | None]]:
    """``card_state`` of each of ``rows`` (by id), in a few queries whatever their number."""
    if not rows:
        return {}
    overtaken = await outbox.overtaken(session=session, rows=rows)
    wanted = [r for r in rows if r.id not in overtaken and r.case_id and r.operation == "post"]
    posted = await posted_cards.posted_for(session=session, case_ids=[r.case_id for r in wanted])
    states: dict[int, tuple[bool, MessageRef | None]] = {
        row.id: (row.id in overtaken, None) for row in rows
    }
    for row in wanted:
        mine = [
            card
            for card in posted
            if (card.case_id, card.purpose) == (row.case_id, row.card_purpose)
        ]
        existing = _matching(mine, row.platform, (row.target or {}).get("conversation_id", ""))
        states[row.id] = (False, None if existing is None else existing.message_ref)
    return states


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
