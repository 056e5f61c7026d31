"""Cards for business cases: the line manager's support request, the board's card, notices.

The board's card shows what Section 3 of the policy asks the approvers to weigh: applicant,
directorate, platform, purpose, the checklist with every "no" and "not sure" highlighted,
the line manager's support, what changed since the last version, and the decision once
made. Buttons come from ``allowed_events()`` filtered to the audience of each card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.actions import ActionName, ActionRef
from bot.cards import Actions, Button, ButtonStyle, Card, Element, Fields, Text
from bot.cases.lifecycle import EVENT_ACTIONS, CaseEvent, CaseKind, allowed_events
from bot.flows.business_case import CHECK_PREFIX
from bot.policy import PolicyPack
from bot.storage.repos.cases import CaseRow
from bot.storage.repos.events import EventRow

BOARD = "board"
COPY = "copy"
STATE_LABELS = {
    "awaiting_support": "Waiting for the line manager's support",
    "not_supported": "Not supported by the line manager",
    "under_review": "With the board",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
BOARD_EVENTS: dict[CaseEvent, tuple[str, ButtonStyle]] = {
    CaseEvent.APPROVE: ("Approve", "primary"),
    CaseEvent.REQUEST_CHANGES: ("Request changes", "default"),
    CaseEvent.REJECT: ("Reject", "danger"),
}
SUPPORT_EVENTS: dict[CaseEvent, tuple[str, ButtonStyle]] = {
    CaseEvent.SUPPORT: ("I am aware of and support this application", "primary"),
    CaseEvent.DECLINE_SUPPORT: ("I do not support it", "danger"),
}
APPLICANT_EVENTS: dict[CaseEvent, tuple[str, ButtonStyle]] = {
    CaseEvent.RESUBMIT: ("Edit and resubmit", "primary"),
}


def _buttons(case: CaseRow, offered: dict[CaseEvent, tuple[str, ButtonStyle]]) -> list[Button]:
    return [
        Button(
            offered[event][0],
            ActionRef(EVENT_ACTIONS[event], case.id, case.version).encode(),
            offered[event][1],
        )
        for event in allowed_events(CaseKind.BUSINESS_CASE, case.state)
        if event in offered
    ]


def field_labels(pack: PolicyPack) -> dict[str, str]:
    """Every answer's label, for summaries and for what changed between versions."""
    policy = pack.business_case
    labels = {f"{CHECK_PREFIX}{p.id}": f"Checklist: {p.text}" for p in policy.checklist}
    labels.update({f.id: f.label for f in policy.applicant_fields})
    labels[policy.line_manager.id] = policy.line_manager.label
    labels[policy.line_manager_title.id] = policy.line_manager_title.label
    labels.update({q.id: f"{q.number}. {q.text}" for q in policy.questions})
    return labels


def checklist_concerns(pack: PolicyPack, answers: dict[str, Any]) -> list[Text]:
    """Checklist points answered "no" or "not sure", highlighted for the approvers."""
    words = {o.id: o.label for o in pack.business_case.checklist_answers}
    found = []
    for point in pack.business_case.checklist:
        answer = answers.get(f"{CHECK_PREFIX}{point.id}")
        if answer in ("no", "not_sure"):
            found.append(Text(f"{words.get(answer, answer)}: {point.text}", "alert"))
    return found


def changes(
    pack: PolicyPack, before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(label, was, now) for every answer that differs between two versions, in form order."""
    labels = field_labels(pack)
    return [
        (labels[key], _shown(before.get(key)), _shown(after.get(key)))
        for key in labels
        if _shown(before.get(key)) != _shown(after.get(key))
    ]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def board_card(
    pack: PolicyPack,
    case: CaseRow,
    *,
    versions: Sequence[dict[str, Any]] = (),
    timeline: Sequence[EventRow] = (),
    buttons: bool = True,
) -> Card:
    """The board's card for a business case (``buttons=False`` for the copy)."""
    answers = case.data
    questions = {q.id: q for q in pack.business_case.questions}
    platform = answers.get("social_media", "")
    purpose = answers.get("purpose", "")
    support = next((e for e in reversed(timeline) if e.event == "support"), None)
    decision = next(
        (e for e in reversed(timeline) if e.event in ("approve", "reject", "request_changes")), None
    )
    elements: list[Element] = [
        Fields(
            (
                ("Status", STATE_LABELS.get(case.state, case.state)),
                ("Applicant", _shown(answers.get("name")) or "Not given"),
                ("Directorate", _shown(answers.get("directorate")) or "Not given"),
                ("Platform", _shown(platform) or "Not given"),
                ("Version", str(len(versions) or 1)),
                (
                    "Line manager's support",
                    f"Supported by {support.actor_name or 'the line manager'}"
                    if support
                    else "Not yet",
                ),
            )
        )
    ]
    if "purpose" in questions:
        elements += [Text(questions["purpose"].text, "heading"), Text(_shown(purpose))]
    concerns = checklist_concerns(pack, answers)
    elements.append(Text("Checklist", "heading"))
    elements += concerns or [Text("Every checklist point was answered yes.", "good")]
    if len(versions) > 1:
        elements.append(Text("What changed since the last version", "heading"))
        for label, was, now in changes(pack, versions[-2], versions[-1]):
            elements.append(
                Fields(((label, f"Was: {was or '(blank)'}"), ("", f"Now: {now or '(blank)'}")))
            )
    if decision is not None:
        comments = str(decision.detail.get("comments") or "")
        elements.append(
            Text(
                f"Decision: {decision.event.replace('_', ' ')} by "
                f"{decision.actor_name or 'the board'}. {comments}".strip()
            )
        )
    row = _buttons(case, BOARD_EVENTS) if buttons else []
    row.append(
        Button(
            "View full case",
            ActionRef(ActionName.CASE_VIEW_FULL_CASE, case.id, case.version).encode(),
        )
    )
    elements.append(Actions(tuple(row)))
    return Card(
        title=f"Business case {case.reference}",
        elements=tuple(elements),
        fallback=f"Business case {case.reference}: {STATE_LABELS.get(case.state, case.state)}",
    )


def support_card(pack: PolicyPack, case: CaseRow) -> Card:
    """The request to the named line manager or director to support the application."""
    answers = case.data
    elements: list[Element] = [
        Text(
            f"{_shown(answers.get('name')) or 'A colleague'} has asked for your support for a "
            "new organisational social media presence."
        ),
        Fields(
            (
                ("Reference", case.reference),
                ("Platform", _shown(answers.get("social_media"))),
                ("Directorate", _shown(answers.get("directorate"))),
            )
        ),
        Text(_shown(answers.get("purpose"))),
        *checklist_concerns(pack, answers),
    ]
    row = _buttons(case, SUPPORT_EVENTS)
    row.append(
        Button(
            "View full case",
            ActionRef(ActionName.CASE_VIEW_FULL_CASE, case.id, case.version).encode(),
        )
    )
    elements.append(Actions(tuple(row)))
    if case.state != "awaiting_support":
        elements.insert(0, Text(STATE_LABELS.get(case.state, case.state), "muted"))
    return Card(
        title=f"Support requested {case.reference}",
        elements=tuple(elements),
        fallback=f"Your support is requested for {case.reference}",
    )


def full_case_card(pack: PolicyPack, case: CaseRow) -> Card:
    """Every answer of the latest version, for View full case."""
    labels = field_labels(pack)
    rows = tuple((label, _shown(case.data.get(key)) or "(blank)") for key, label in labels.items())
    return Card(
        title=f"Full case {case.reference}",
        elements=(Fields(rows),),
        fallback=f"Full business case {case.reference}",
    )


def applicant_notice(pack: PolicyPack, case: CaseRow, event: str, comments: str) -> Card:
    """What the applicant is told: support declined, changes requested, or the decision."""
    words = {
        "decline_support": "Your line manager does not support your business case yet.",
        "request_changes": "The board has asked for changes to your business case.",
        "approve": "The board has approved your business case. Your new presence is now on "
        "the register of approved sites.",
        "reject": "The board has not approved your business case.",
    }
    elements: list[Element] = [
        Text(words.get(event, "Your business case was updated.")),
        Fields((("Reference", case.reference),)),
    ]
    if comments:
        elements.append(Fields(((pack.business_case.comments_label, comments),)))
    buttons = _buttons(case, APPLICANT_EVENTS)
    if buttons:
        elements.append(Actions(tuple(buttons)))
    return Card(
        title=f"Business case {case.reference}",
        elements=tuple(elements),
        fallback=words.get(event, "Your business case was updated."),
    )
