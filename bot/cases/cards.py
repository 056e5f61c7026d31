"""Triage cards for abuse reports: what managers see in the triage channel.

The card shows what DOMAIN.md lists (reference, status, urgency, the reporter's role but not
their name, how it arrived, kind, when, whether ongoing, evidence count, protected
characteristic flag, who is assigned, the last action). The description and evidence stay
behind **View details**. Buttons come from ``allowed_events()``, so a card never offers a
move the lifecycle would refuse, and each carries the case version it was drawn for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.actions import ActionName, ActionRef
from bot.cards import Actions, Button, ButtonStyle, Card, Element, Fields, Text
from bot.cases.lifecycle import EVENT_ACTIONS, CaseEvent, CaseKind, allowed_events
from bot.policy import PolicyPack
from bot.storage.repos.cases import CaseRow
from bot.storage.repos.events import EventRow

TRIAGE = "triage"
STATE_LABELS = {
    "new": "New",
    "acknowledged": "Acknowledged",
    "escalated": "Escalated",
    "in_progress": "In progress",
    "closed": "Closed",
}
EVENT_LABELS: dict[CaseEvent, tuple[str, ButtonStyle]] = {
    CaseEvent.ACKNOWLEDGE: ("Acknowledge", "primary"),
    CaseEvent.ASSIGN: ("Assign", "default"),
    CaseEvent.ESCALATE: ("Escalate", "default"),
    CaseEvent.RECORD_ACTION: ("Record action", "default"),
    CaseEvent.CHECK_IN: ("Log check-in", "default"),
    CaseEvent.CLOSE: ("Close", "danger"),
    CaseEvent.REOPEN: ("Reopen", "default"),
}


def option_label(pack: PolicyPack, step_id: str, value: Any) -> str:
    """The pack's words for an answer (or answers), falling back to the stored value."""
    step = pack.abuse_report.steps.get(step_id)
    values = value if isinstance(value, list) else [value]
    labels = []
    for item in values:
        if item in (None, ""):
            continue
        try:
            labels.append(step.option(str(item)).label if step else str(item))
        except KeyError:
            labels.append(str(item))
    return ", ".join(labels) or "Not given"


def yes_no(value: Any) -> str:
    return {"yes": "Yes", "no": "No"}.get(str(value), "Not given")


EVENT_NAMES = {
    "submitted": "Reported",
    "acknowledge": "Acknowledged",
    "assign": "Assigned",
    "escalate": "Escalated",
    "record_action": "Action recorded",
    "check_in": "Check-in logged",
    "close": "Closed",
    "reopen": "Reopened",
}
TIMELINE_LINES = 5


def timeline_text(pack: PolicyPack, timeline: Sequence[EventRow]) -> str:
    """The last few timeline lines (when, what, who), in the organisation's time zone."""
    lines = []
    for event in [e for e in timeline if e.event in EVENT_NAMES][-TIMELINE_LINES:]:
        when = event.at.astimezone(pack.organisation.zone).strftime("%d %b %H:%M")
        who = event.actor_name or "someone"
        lines.append(f"{when} · {EVENT_NAMES[event.event]} · {who}")
    return "\n".join(lines)


def triage_card(
    pack: PolicyPack,
    case: CaseRow,
    *,
    last_action: str = "",
    timeline: Sequence[EventRow] = (),
    buttons: bool = True,
    earlier_reports: int = 0,
) -> Card:
    """The triage channel's card for an abuse report, for its current state and version.

    ``buttons=False`` gives the copy sent to contacts: the same facts, only View details.
    """
    answers = case.data
    protected = [c for c in answers.get("protected_characteristics") or [] if c != "none"]
    arrived = option_label(pack, "channel", answers.get("channel"))
    if answers.get("platform"):
        arrived += f" ({option_label(pack, 'platform', answers.get('platform'))})"
    assignee = (case.assignee or {}).get("display_name") or (
        "Someone" if case.assignee_key else "Nobody yet"
    )
    elements: list[Element] = []
    if case.urgent:
        elements.append(Text("Urgent: the reporter said someone is in danger now.", "alert"))
    elements.append(
        Fields(
            (
                ("Status", STATE_LABELS.get(case.state, case.state)),
                ("Urgency", "Urgent" if case.urgent else "Routine"),
                (
                    "Reporter's role",
                    option_label(pack, "reporter_role", answers.get("reporter_role")),
                ),
                ("Account", option_label(pack, "account_kind", answers.get("account_kind"))),
                ("How it arrived", arrived),
                ("Kind", option_label(pack, "kind", answers.get("kind"))),
                ("Started", str(answers.get("started_on") or "Not given")),
                ("Ongoing", yes_no(answers.get("ongoing"))),
                ("Evidence files", str(len(answers.get("evidence") or []))),
                ("Protected characteristic", "Yes" if protected else "No"),
                ("Assigned to", assignee),
                ("Last action", last_action or "Reported"),
            )
        )
    )
    if earlier_reports:
        plural = "reports name" if earlier_reports != 1 else "report names"
        elements.append(
            Text(f"Recurring sender: {earlier_reports} earlier {plural} this sender.", "alert")
        )
    if timeline:
        elements.append(Text(timeline_text(pack, timeline), "muted"))
    elements.append(Actions(_buttons(case) if buttons else _buttons(case)[-1:]))
    return Card(
        title=f"Abuse report {case.reference}",
        elements=tuple(elements),
        fallback=f"Abuse report {case.reference}: {STATE_LABELS.get(case.state, case.state)}",
    )


def _buttons(case: CaseRow) -> tuple[Button, ...]:
    buttons = [
        Button(label, ActionRef(EVENT_ACTIONS[event], case.id, case.version).encode(), style)
        for event in allowed_events(CaseKind.ABUSE_REPORT, case.state)
        for label, style in [EVENT_LABELS[event]]
    ]
    details = ActionRef(ActionName.CASE_VIEW_DETAILS, case.id, case.version).encode()
    buttons.append(Button("View details", details))
    return tuple(buttons)


def notice_card(pack: PolicyPack, notice: str, reference: str) -> Card:
    """A message to the reporter (submitted, acknowledged, escalated, closed)."""
    text = pack.abuse_report.notices[notice].replace("{reference}", reference)
    return Card(title=f"Your report {reference}", elements=(Text(text),), fallback=text)


def details_card(
    pack: PolicyPack, case: CaseRow, file_names: list[str], earlier: Sequence[str] = ()
) -> Card:
    """The description and evidence, for those the pack allows to see them."""
    answers = case.data
    reporter = case.reporter.get("display_name") or case.reporter_key
    rows = (
        ("Reporter", str(reporter)),
        ("Who sent it", str(answers.get("senders") or "Not known")),
        ("Links", str(answers.get("links") or "None given")),
        ("Piece of work", str(answers.get("work_item") or "Not given")),
        ("Contentious", yes_no(answers.get("contentious"))),
        ("Personal details exposed", yes_no(answers.get("details_exposed"))),
        ("Replied to the sender", yes_no(answers.get("replied"))),
        (
            "Protected characteristics",
            option_label(
                pack, "protected_characteristics", answers.get("protected_characteristics")
            ),
        ),
        ("Evidence", ", ".join(file_names) or "No files"),
        ("Earlier reports naming this sender", ", ".join(earlier) or "None"),
    )
    return Card(
        title=f"Details {case.reference}",
        elements=(
            Text("What happened", "heading"),
            Text(str(answers.get("description") or "")),
            Fields(rows),
        ),
        fallback=f"Details of {case.reference}",
    )
