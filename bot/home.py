"""Home screens by role: Slack App Home and the Teams ``home`` command and welcome card.

* Everyone: the buttons that start each flow, their drafts, and the state of their own
  reports and cases (the reporter can always see the state of their own reports).
* Managers (triage roles): the open queue: reports nobody has acknowledged, reports assigned
  to them, and reports whose check-in is overdue.
* The corporate office: the register in numbers: reports by state, cases by state, approved
  presences, and reports naming a sender seen before.
Nobody sees another person's report details here: references and states only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import ActionName, ActionRef
from bot.cards import Actions, Button, Card, Element, Fields, Text
from bot.cases.board_cards import STATE_LABELS as CASE_STATES
from bot.cases.cards import STATE_LABELS as REPORT_STATES
from bot.model import Actor
from bot.policy import PolicyPack
from bot.storage.repos import cases, sessions
from bot.storage.tables import Case, Presence, Reminder, SenderHash

FLOW_TITLES = {
    "abuse_report": "Report abusive contact",
    "business_case": "Social media business case",
}
MANAGER_ROLES = {"triage_manager", "communications_lead", "corporate_office"}
OPEN_REPORTS = ("new", "acknowledged", "escalated", "in_progress")
LIST_LIMIT = 10


async def home_card(
    session: AsyncSession,
    pack: PolicyPack,
    actor: Actor,
    roles: set[str],
    clock: Callable[[], dt.datetime],
) -> Card:
    """The home screen for this person."""
    elements: list[Element] = [
        Text(pack.organisation.name, "heading"),
        Text(
            "Report abusive, threatening or malicious contact you received because of your work, "
            "or make the business case for a new social media presence. Channel managers: use "
            "“Suggest a reply” on a message for the approved replies."
        ),
    ]
    elements += await _mine(session, actor)
    if roles & MANAGER_ROLES:
        elements += await _queue(session, actor, clock())
    if "corporate_office" in roles:
        elements += await _register(session)
    elements.append(
        Actions(
            (
                Button(
                    "Report abusive contact",
                    ActionRef(ActionName.FLOW_START_ABUSE_REPORT).encode(),
                    "primary",
                ),
                Button(
                    "Start a business case", ActionRef(ActionName.FLOW_START_BUSINESS_CASE).encode()
                ),
                Button("Suggest a reply", ActionRef(ActionName.REPLIES_SHOW).encode()),
            )
        )
    )
    return Card(title="Staff Safety", elements=tuple(elements), fallback="Staff Safety")


def _state(kind: str, state: str) -> str:
    labels = REPORT_STATES if kind == "abuse_report" else CASE_STATES
    return labels.get(state, state)


async def _mine(session: AsyncSession, actor: Actor) -> list[Element]:
    drafts = await sessions.list_open(
        session=session, platform=actor.platform.value, user_id=actor.user_id
    )
    own = await cases.list(session=session, reporter_key=actor.key, limit=LIST_LIMIT)
    out: list[Element] = []
    for draft in drafts:
        out.append(
            Text(
                f"Draft: {FLOW_TITLES.get(draft.flow, draft.flow)}. Start it again to "
                "carry on where you stopped.",
                "muted",
            )
        )
    if own:
        out += [
            Text("Your reports and cases", "heading"),
            Fields(tuple((c.reference, _state(c.kind, c.state)) for c in own)),
        ]
    return out


async def _queue(session: AsyncSession, actor: Actor, now: dt.datetime) -> list[Element]:
    unacknowledged = await cases.list(
        session=session, kind="abuse_report", states=["new"], limit=LIST_LIMIT
    )
    mine = (
        await session.scalars(
            select(Case.reference)
            .where(
                Case.kind == "abuse_report",
                Case.state.in_(OPEN_REPORTS),
                Case.assignee_key == actor.key,
            )
            .order_by(Case.created_at)
            .limit(LIST_LIMIT)
        )
    ).all()
    overdue_ids = select(Reminder.case_id).where(
        Reminder.kind == "check_in", Reminder.status == "pending", Reminder.due_at <= now
    )
    overdue = (
        await session.scalars(
            select(Case.reference).where(Case.id.in_(overdue_ids)).limit(LIST_LIMIT)
        )
    ).all()
    return [
        Text("The open queue", "heading"),
        Fields(
            (
                ("Not yet acknowledged", _refs([c.reference for c in unacknowledged])),
                ("Assigned to you", _refs(list(mine))),
                ("Check-in overdue", _refs(list(overdue))),
            )
        ),
    ]


def _refs(references: Sequence[str]) -> str:
    return ", ".join(references) or "None"


async def _register(session: AsyncSession) -> list[Element]:
    by_state = (
        await session.execute(
            select(Case.kind, Case.state, func.count()).group_by(Case.kind, Case.state)
        )
    ).all()
    presences = await session.scalar(select(func.count()).select_from(Presence)) or 0
    repeats = (
        select(SenderHash.digest).group_by(SenderHash.digest).having(func.count() > 1).subquery()
    )
    recurring = await session.scalar(select(func.count()).select_from(repeats)) or 0
    rows = [
        (f"{'Reports' if kind == 'abuse_report' else 'Cases'}: {_state(kind, state)}", str(count))
        for kind, state, count in sorted(by_state)
    ]
    rows += [
        ("Approved presences", str(presences)),
        ("Senders named in more than one report", str(recurring)),
    ]
    return [Text("The register", "heading"), Fields(tuple(rows))]
