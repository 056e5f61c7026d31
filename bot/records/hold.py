"""A legal hold on one case: ``python -m bot hold REF --on|--off --reason TEXT``.

The pack's ``retention.legal_hold`` stops every purge; this holds a single case (a claim,
an investigation, an appeal) however long ago it closed. Putting a hold on, or lifting it,
is an internal event on the case's timeline saying who did it and why, so the hash chain
covers it like any other action. The case's version is left alone: a hold is not a step in
the lifecycle, and the cards already posted keep working.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.register.db import NoDatabase, open_context
from bot.storage.repos import cases, events

LEGAL_HOLD_EVENT = "legal_hold"
REASON_LIMIT = 1000


class HoldRefused(ValueError):
    """No such case, or no usable reason; the message says which."""


@dataclass(frozen=True)
class HoldChange:
    """The outcome: whether the case is now held, and whether that changed anything."""

    reference: str
    on: bool
    changed: bool


@dataclass(frozen=True)
class Operator:
    """Who runs a records command: kept on the timeline and in the purge log."""

    key: str
    name: str

    @classmethod
    def at_command_line(cls, by: str | None = None) -> Operator:
        """``--by NAME``, or the operating-system user running the command."""
        name = (by or getpass.getuser()).strip()
        return cls(key=f"cli:{name}", name=f"{name} (command line)")


async def set_hold(
    db: async_sessionmaker[AsyncSession], *, reference: str, on: bool, reason: str, by: Operator
) -> HoldChange:
    """Put the case on legal hold (``on``) or lift the hold, saying why on its timeline.

    Raises:
        HoldRefused: if there is no such case, or the reason is empty or too long.
    """
    reason = reason.strip()
    if not reason:
        raise HoldRefused("Give a reason (--reason): it goes on the case's timeline.")
    if len(reason) > REASON_LIMIT:
        raise HoldRefused(f"Please keep the reason to {REASON_LIMIT:,} characters.")
    async with db.begin() as s:
        case = await cases.get_by_reference(session=s, reference=reference)
        if case is None:
            raise HoldRefused(f"No case with reference {reference!r}.")
        changed = await cases.set_legal_hold(session=s, case_id=case.id, on=on)
        if changed:
            await events.append(
                session=s,
                case_id=case.id,
                actor_key=by.key,
                actor_name=by.name,
                event=LEGAL_HOLD_EVENT,
                from_state=None,
                to_state=None,
                detail={"on": on, "reason": reason},
                internal=True,
            )
    return HoldChange(reference=reference, on=on, changed=changed)


def describe(change: HoldChange) -> str:
    """What ``hold`` prints."""
    if change.on:
        state = "is now on legal hold" if change.changed else "was already on legal hold"
        return f"{change.reference} {state}: it will not be purged until the hold is lifted."
    state = "is no longer on legal hold" if change.changed else "was not on legal hold"
    return f"{change.reference} {state}: the retention rules apply to it again."


async def hold_command(*, reference: str, on: bool, reason: str, by: str | None) -> int:
    """Run ``hold``; return 0 when done (or nothing to do), 1 when refused."""
    try:
        async with open_context() as context:
            change = await set_hold(
                context.db,
                reference=reference.strip(),
                on=on,
                reason=reason,
                by=Operator.at_command_line(by),
            )
    except (HoldRefused, NoDatabase) as error:
        print(error, file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(f"Cannot use the database: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 1
    print(describe(change))
    return 0
