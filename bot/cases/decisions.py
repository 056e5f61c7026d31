"""The board's decision forms: what each decision asks for, and checking the answers.

Seed 002 Section 3: declining support, rejecting and requesting changes each need the
decider's reasons, which the applicant is shown; approval asks for the name or web address
of the new presence for the register of approved sites (its comments are optional).
"""

from __future__ import annotations

from typing import Any

from bot.cards import Card, TextInput
from bot.cases.forms import press_form
from bot.cases.lifecycle import CaseEvent
from bot.policy import PolicyPack
from bot.storage.repos.cases import CaseRow

FORMS = {CaseEvent.DECLINE_SUPPORT, CaseEvent.APPROVE, CaseEvent.REJECT, CaseEvent.REQUEST_CHANGES}
COMMENTS_LIMIT = 3000
NAME_OR_URL_LIMIT = 500


def decision_form(
    pack: PolicyPack,
    event: CaseEvent,
    case: CaseRow,
    submit_value: str,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Card:
    """The form a decision asks for: comments (a reason), and on approval the site's name."""
    errors, values = errors or {}, values or {}
    label = {CaseEvent.DECLINE_SUPPORT: "Why do you not support it?"}.get(
        event, pack.business_case.comments_label
    )
    fields: list[TextInput] = [
        TextInput(
            id="comments",
            label=label,
            multiline=True,
            required=event is not CaseEvent.APPROVE,
            max_length=COMMENTS_LIMIT,
            initial=str(values.get("comments") or ""),
            error=errors.get("comments"),
        )
    ]
    if event is CaseEvent.APPROVE:
        fields.append(
            TextInput(
                id="name_or_url",
                label="Name or web address of the new presence",
                max_length=NAME_OR_URL_LIMIT,
                initial=str(values.get("name_or_url") or ""),
                hint="As it will appear on the register of approved sites.",
                error=errors.get("name_or_url"),
            )
        )
    title = {
        CaseEvent.DECLINE_SUPPORT: "Do not support",
        CaseEvent.APPROVE: "Approve",
        CaseEvent.REJECT: "Reject",
        CaseEvent.REQUEST_CHANGES: "Request changes",
    }[event]
    return press_form(title, case.reference, fields, submit_value)


def decision_fields(event: CaseEvent) -> tuple[str, ...]:
    """The fields a decision's form has: what of a press's inputs may be recorded."""
    if event not in FORMS:
        return ()
    return ("comments", "name_or_url") if event is CaseEvent.APPROVE else ("comments",)


def check_decision(event: CaseEvent, values: dict[str, Any]) -> dict[str, str]:
    """Errors by field for a decision form."""
    errors = {
        field: "Please answer with text."
        for field in ("comments", "name_or_url")
        if values.get(field) is not None and not isinstance(values[field], str)
    }
    if errors:
        return errors
    comments = str(values.get("comments") or "").strip()
    if event is not CaseEvent.APPROVE and not comments:
        errors["comments"] = "Please give your reasons: the applicant will see them."
    if len(comments) > COMMENTS_LIMIT:
        errors["comments"] = f"Please keep this to {COMMENTS_LIMIT:,} characters."
    name = str(values.get("name_or_url") or "").strip()
    if event is CaseEvent.APPROVE and not name:
        errors["name_or_url"] = "Please give the name or web address for the register."
    if len(name) > NAME_OR_URL_LIMIT:
        errors["name_or_url"] = f"Please keep this to {NAME_OR_URL_LIMIT:,} characters."
    return errors
