"""Who the organisation is and who does what: roles, contacts, routing, timings, retention.

These are the parts of a pack that change most between organisations (names, mailboxes,
phone numbers, channels), so they are kept apart from the questions the flows ask.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, PositiveInt, field_validator, model_validator

from bot.policy.common import Email, Id, PackModel, Text, Url

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")
_SLACK_USER = re.compile(r"^slack:[UW][A-Z0-9]{2,}$")
_TEAMS_USER = re.compile(r"^teams:[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def normalise_identity(value: str) -> str:
    """Return the canonical form of a person's identity, or raise ``ValueError``.

    An identity is an e-mail address (compared without case), ``slack:U123ABC`` (a Slack
    user id) or ``teams:<Azure AD object id>`` (compared without case).

    Args:
        value: The identity as written in the pack or reported by a platform.

    Returns:
        The identity with e-mail addresses and Teams ids in lower case.
    """
    value = value.strip()
    if _SLACK_USER.match(value):
        return value
    if _TEAMS_USER.match(value) or _EMAIL.match(value):
        return value.lower()
    raise ValueError(
        f"{value!r} is not an identity: use an e-mail address, slack:U123ABC or "
        "teams:<Azure AD object id>"
    )


Identity = Annotated[str, AfterValidator(normalise_identity)]


def _weekdays() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class WorkingHours(PackModel):
    """The hours the organisation's channels are watched (seed 002 Annex A: weekdays only)."""

    start: time = time(9, 0)
    end: time = time(17, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        # Pydantic reads a number as seconds after midnight; a pack author never means that.
        if isinstance(value, int | float):
            raise ValueError("write times as quoted text, for example '09:00'")
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError("working_hours.start must be before working_hours.end")
        return self


class Organisation(PackModel):
    """The organisation the pack belongs to."""

    name: Text
    short_name: Text
    time_zone: str = "Europe/London"
    working_days: list[Weekday] = Field(default_factory=_weekdays, min_length=1)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("working_days")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a day is listed twice")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone, for reminders and working hours."""
        return ZoneInfo(self.time_zone)


class Role(PackModel):
    """A named group of people, found by their identities."""

    label: Text
    members: list[Identity] = Field(default_factory=list)


class Contact(PackModel):
    """A person, team, mailbox or service the bot names, routes to or signposts."""

    id: Id
    label: Text
    role: str | None = None
    email: Email | None = None
    phone: str | None = None
    url: Url | None = None
    slack_channel: str | None = None
    teams_channel: str | None = None
    note: str | None = None


class ChannelRef(PackModel):
    """A channel on each platform; empty until an administrator binds one."""

    slack: Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,}$")] | None = None
    teams: str | None = None


class AbuseRouting(PackModel):
    """Where a new abuse report goes (seed 000 para 8; seed 002 Annex A step d)."""

    triage_channel: ChannelRef = Field(default_factory=ChannelRef)
    notify: list[str] = Field(default_factory=list)
    protected_characteristic: list[str] = Field(default_factory=list)


class BusinessCaseRouting(PackModel):
    """Where a submitted business case goes (seed 002 Section A.2 and A.4)."""

    board_channel: ChannelRef = Field(default_factory=ChannelRef)
    copies: list[str] = Field(default_factory=list)


class Routing(PackModel):
    """Routing for both flows; every name is a contact id."""

    abuse_report: AbuseRouting = Field(default_factory=AbuseRouting)
    business_case: BusinessCaseRouting = Field(default_factory=BusinessCaseRouting)


class Reminders(PackModel):
    """How often the bot nudges people (seed 000 para 7; seed 002 Section D)."""

    check_in_days: PositiveInt = 7
    unacknowledged_hours: PositiveInt = 4
    unacknowledged_escalate_hours: PositiveInt = 8
    support_reminder_days: PositiveInt = 3
    presence_monitor_days: PositiveInt = 7

    @model_validator(mode="after")
    def _escalate_after_reminding(self) -> Reminders:
        if self.unacknowledged_escalate_hours <= self.unacknowledged_hours:
            raise ValueError(
                "unacknowledged_escalate_hours must be later than unacknowledged_hours"
            )
        return self


class Retention(PackModel):
    """How long finished records are kept before they may be deleted."""

    abuse_report_closed_days: PositiveInt = 6 * 365
    business_case_decided_days: PositiveInt = 6 * 365
    flow_draft_days: PositiveInt = 30
    legal_hold: bool = False
