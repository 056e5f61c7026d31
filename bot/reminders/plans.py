"""What each case change does to its reminders, in the transaction of the change.

* A new report: remind the triage channel if it is not acknowledged in N hours, then
  escalate to the communications lead after the second interval.
* Acknowledged: stop those; remind whoever has it (the assignee, else the person who
  acknowledged) every N days to keep in touch with the reporter (seed 000 para 7).
  A logged check-in, or an assignment, starts the interval again; closing stops it.
* A business case submitted: remind the line manager if support has not come in N days.
* Approved: remind the owner weekly to monitor the page (seed 002 Section D), and at the
  review date.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import Actor
from bot.policy import PolicyPack
from bot.reminders.timing import due
from bot.storage.repos import reminders
from bot.storage.repos.cases import CaseRow

UNACKNOWLEDGED = "unacknowledged"
UNACKNOWLEDGED_ESCALATION = "unacknowledged_escalation"
CHECK_IN = "check_in"
SUPPORT = "support"
PRESENCE_MONITOR = "presence_monitor"
PRESENCE_REVIEW = "presence_review"


async def schedule(
    session: AsyncSession,
    kind: str,
    case: CaseRow,
    at: dt.datetime,
    subject: dict[str, object] | None = None,
) -> None:
    """One reminder, keyed by case, kind and time so each fires once."""
    await reminders.schedule(
        session=session,
        kind=kind,
        due_at=at,
        case_id=case.id,
        subject=subject or {},
        dedupe_key=f"{kind}:{case.id}:{at.isoformat()}",
    )


async def report_submitted(
    session: AsyncSession, pack: PolicyPack, case: CaseRow, now: dt.datetime
) -> None:
    hours = pack.reminders.unacknowledged_hours
    await schedule(session, UNACKNOWLEDGED, case, due(pack, now, hours=hours, urgent=case.urgent))


async def keep_in_touch(
    session: AsyncSession, pack: PolicyPack, case: CaseRow, now: dt.datetime, person: Actor
) -> None:
    """(Re)start the check-in interval for ``person``."""
    await reminders.cancel(
        session=session, case_id=case.id, kind=(UNACKNOWLEDGED, UNACKNOWLEDGED_ESCALATION, CHECK_IN)
    )
    at = due(pack, now, days=pack.reminders.check_in_days, urgent=case.urgent)
    await schedule(session, CHECK_IN, case, at, {"person": person.to_json()})


async def stop_all(session: AsyncSession, case: CaseRow) -> None:
    await reminders.cancel(session=session, case_id=case.id)


async def case_submitted(
    session: AsyncSession, pack: PolicyPack, case: CaseRow, now: dt.datetime
) -> None:
    await reminders.cancel(session=session, case_id=case.id, kind=SUPPORT)
    await schedule(
        session, SUPPORT, case, due(pack, now, days=pack.reminders.support_reminder_days)
    )


async def support_given(session: AsyncSession, case: CaseRow) -> None:
    await reminders.cancel(session=session, case_id=case.id, kind=SUPPORT)


async def presence_approved(
    session: AsyncSession, pack: PolicyPack, case: CaseRow, now: dt.datetime, review_at: dt.datetime
) -> None:
    days = pack.reminders.presence_monitor_days
    await schedule(session, PRESENCE_MONITOR, case, due(pack, now, days=days))
    await schedule(session, PRESENCE_REVIEW, case, due(pack, review_at))
