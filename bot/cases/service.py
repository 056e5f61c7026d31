"""Opening cases: a completed flow becomes a case with a reference, a timeline and a version.

``open_case`` runs inside the flow engine's completing transaction, so the case, its first
timeline event, its first version and the draft's "submitted" mark are stored together or
not at all; only then is the person told it was received (store first, then tell).
References (``AB-2026-0042``) come from a counter row updated atomically in the database,
so they are unique across replicas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import INITIAL_STATE, CaseKind
from bot.model import Actor
from bot.storage.repos import cases, events

SUBMITTED = "submitted"


@dataclass(frozen=True)
class CaseOpened:
    """What the person is told after submitting."""

    case_id: str
    kind: CaseKind
    reference: str
    state: str
    urgent: bool


async def open_case(
    session: AsyncSession,
    *,
    kind: CaseKind,
    prefix: str,
    actor: Actor,
    answers: dict[str, Any],
    urgent: bool = False,
    reply_to: dict[str, Any] | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> CaseOpened:
    """Store a new case with its first timeline event and first version.

    Args:
        session: the open transaction (the flow engine's).
        kind: abuse report or business case.
        prefix: the pack's reference prefix (``AB``, ``SC``).
        actor: the reporter or applicant.
        answers: the flow's answers, kept whole.
        urgent: the reporter said someone is in danger now.
        clock: the current UTC time.
    """
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    reference = await cases.next_reference(session=session, prefix=prefix, year=now.year)
    state = INITIAL_STATE[kind]
    row = await cases.create(
        session=session,
        kind=kind.value,
        reference=reference,
        state=state,
        reporter=actor,
        data=answers,
        urgent=urgent,
    )
    await events.append(
        session=session,
        case_id=row.id,
        actor_key=actor.key,
        actor_name=actor.display_name,
        event=SUBMITTED,
        from_state=None,
        to_state=state,
        detail={"reference": reference, "urgent": urgent, "reply_to": reply_to},
    )
    await cases.add_version(session=session, case_id=row.id, data=answers, created_by=actor.key)
    return CaseOpened(row.id, kind, reference, state, urgent)
