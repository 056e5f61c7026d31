"""When a reminder is due: the pack's working days and hours, in the pack's time zone.

Channel managers and line managers work office hours (seed 002 Annex A: "working hours
during Monday to Friday"), so a reminder that falls outside them moves to the start of the
next working period. An urgent report ignores this: it reminds when it is due.
"""

from __future__ import annotations

import datetime as dt

from bot.policy import PolicyPack

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def in_working_hours(pack: PolicyPack, when: dt.datetime) -> dt.datetime:
    """``when``, or the next moment inside the pack's working days and hours (UTC out)."""
    organisation = pack.organisation
    local = when.astimezone(organisation.zone)
    start, end = organisation.working_hours.start, organisation.working_hours.end
    days = {str(d).lower()[:3] for d in organisation.working_days}
    for _ in range(14):
        working_day = DAY_NAMES[local.weekday()] in days
        if working_day and start <= local.time() < end:
            return local.astimezone(dt.UTC)
        if working_day and local.time() < start:
            return _at(local, start).astimezone(dt.UTC)
        local = _at(local + dt.timedelta(days=1), start)
    return when  # no working days configured: remind when due


def _at(day: dt.datetime, time: dt.time) -> dt.datetime:
    naive = dt.datetime.combine(day.date(), time)
    zone = day.tzinfo
    assert zone is not None
    return naive.replace(tzinfo=zone)


def due(
    pack: PolicyPack, now: dt.datetime, *, hours: float = 0, days: float = 0, urgent: bool = False
) -> dt.datetime:
    """``now`` plus the interval, moved into working hours unless urgent."""
    moment = now + dt.timedelta(hours=hours, days=days)
    return moment if urgent else in_working_hours(pack, moment)
