"""What a triage button asks before it acts: assign (a person), escalate (a target and what
that target needs, e.g. the police reference), record action, close (outcome and lessons).

A form is a neutral card whose submit carries the same ``ActionRef`` as the button pressed;
Slack shows it as a modal and Teams as a card. ``check`` validates the answers on the
field, with the same rules as the flows, so a bad answer never half-records an action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.cards import Button, Card, ChoiceInput, Element, Input, Option, PeopleInput, TextInput
from bot.cases.lifecycle import CaseEvent
from bot.flows.answers import as_list
from bot.flows.spec import MAX_PEOPLE, are_person_ids, is_blank
from bot.policy import PolicyPack
from bot.policy.common import Ask

FORM_EVENTS = frozenset(
    {CaseEvent.ASSIGN, CaseEvent.ESCALATE, CaseEvent.RECORD_ACTION, CaseEvent.CLOSE}
)
NOTE_LIMIT = 3000


def _ask_input(ask: Ask, prefix: str = "", label_prefix: str = "") -> Input:
    field_id, label = f"{prefix}{ask.id}", f"{label_prefix}{ask.label}"
    if ask.kind == "choice":
        options = tuple(Option(o.id, o.label) for o in ask.options)
        return ChoiceInput(
            id=field_id, label=label, options=options, required=False, hint=ask.hint or ""
        )
    return TextInput(
        id=field_id,
        label=label,
        multiline=ask.kind == "long_text",
        required=False,
        max_length=ask.max_length or NOTE_LIMIT,
        hint=ask.hint or "",
    )


def form_inputs(pack: PolicyPack, event: CaseEvent) -> tuple[Input, ...]:
    """The fields a form for ``event`` shows."""
    policy = pack.abuse_report
    if event is CaseEvent.ASSIGN:
        return (PeopleInput(id="assignee", label="Assign to"),)
    if event is CaseEvent.RECORD_ACTION:
        options = tuple(Option(a.id, a.label) for a in policy.record_actions)
        return (
            ChoiceInput(id="actions", label="What has been done?", options=options, multiple=True),
            TextInput(
                id="note", label="Note", multiline=True, required=False, max_length=NOTE_LIMIT
            ),
        )
    if event is CaseEvent.CLOSE:
        return tuple(_ask_input(ask) for ask in policy.close_asks)
    targets = tuple(Option(t.id, t.label) for t in policy.escalation_targets)
    fields: list[Input] = [ChoiceInput(id="target", label="Escalate to", options=targets)]
    for target in policy.escalation_targets:
        fields.extend(_ask_input(a, f"{target.id}.", f"{target.label}: ") for a in target.asks)
    return tuple(fields)


def form_card(
    pack: PolicyPack,
    event: CaseEvent,
    *,
    reference: str,
    submit_value: str,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Card:
    """The form for ``event`` on the report ``reference``, with errors on their fields."""
    errors, values = errors or {}, values or {}
    elements: list[Element] = []
    for field in form_inputs(pack, event):
        error = errors.get(field.id)
        initial = values.get(field.id)
        if isinstance(field, TextInput):
            field = TextInput(**{**field.__dict__, "error": error, "initial": str(initial or "")})
        elif isinstance(field, ChoiceInput | PeopleInput):
            chosen = (
                tuple(initial) if isinstance(initial, list) else ((initial,) if initial else ())
            )
            field = type(field)(**{**field.__dict__, "error": error, "initial": chosen})
        elements.append(field)
    title = {
        CaseEvent.ASSIGN: "Assign",
        CaseEvent.ESCALATE: "Escalate",
        CaseEvent.RECORD_ACTION: "Record action",
        CaseEvent.CLOSE: "Close",
    }[event]
    return press_form(title, reference, elements, submit_value)


def press_form(title: str, reference: str, elements: Sequence[Any], submit_value: str) -> Card:
    """A form a case-card press asks for: "<title> <reference>", submitted with the press's
    own value (kept as the card's metadata for the platform's submit)."""
    return Card(
        title=f"{title} {reference}",
        elements=tuple(elements),
        submit=Button(title, submit_value, "primary"),
        metadata=submit_value,
        fallback=f"{title} {reference}",
    )


def _as_list(value: Any) -> list[Any]:
    """The flows' list shape (Teams' comma-joined strings split), without blank entries; any
    other value is kept as it came, so ``check`` refuses it on its field."""
    return [item for item in as_list(value) if not is_blank(item)]


def normalise(pack: PolicyPack, event: CaseEvent, values: dict[str, Any]) -> dict[str, Any]:
    """One shape for both platforms: lists for people and multiple choices, text otherwise.

    Slack gives lists; Teams gives comma-joined strings for multi-selects and the people
    picker. Keys the form does not show are dropped.
    """
    out: dict[str, Any] = {}
    for field in form_inputs(pack, event):
        value = values.get(field.id)
        if isinstance(field, PeopleInput) or (isinstance(field, ChoiceInput) and field.multiple):
            out[field.id] = _as_list(value)
        elif isinstance(field, ChoiceInput):
            items = _as_list(value)
            out[field.id] = items[0] if items else ""
        elif value is None:
            out[field.id] = ""
        else:
            out[field.id] = value.strip() if isinstance(value, str) else value
    if event is CaseEvent.ESCALATE:  # only the chosen target's questions are its answers
        chosen = f"{out.get('target')}."
        out = {k: v for k, v in out.items() if "." not in k or k.startswith(chosen)}
    return out


def _wrong_type(value: Any) -> bool:
    """Anything but text, or a list of text, is not an answer a form can give."""
    if isinstance(value, list):
        return not all(isinstance(v, str) for v in value)
    return not isinstance(value, str)


def _type_errors(pack: PolicyPack, event: CaseEvent, values: dict[str, Any]) -> dict[str, str]:
    return {
        field.id: "Please answer with text or the options shown."
        for field in form_inputs(pack, event)
        if field.id in values and _wrong_type(values[field.id])
    }


def _required(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def check(pack: PolicyPack, event: CaseEvent, values: dict[str, Any]) -> dict[str, str]:
    """Errors by field id for a submitted form; empty when it can be recorded."""
    errors = _type_errors(pack, event, values)
    if errors:
        return errors
    policy = pack.abuse_report
    asks: list[tuple[str, Ask]] = []
    if event is CaseEvent.ASSIGN:
        people = as_list(values.get("assignee"))
        if not people:
            errors["assignee"] = "Please choose who to assign this to."
        elif len(people) > MAX_PEOPLE or not are_person_ids(people):
            errors["assignee"] = f"Please choose up to {MAX_PEOPLE} people from the list."
    elif event is CaseEvent.RECORD_ACTION:
        known = {a.id for a in policy.record_actions}
        chosen = values.get("actions") or []
        if not chosen or any(c not in known for c in chosen):
            errors["actions"] = "Please choose what has been done."
    elif event is CaseEvent.CLOSE:
        asks = [(a.id, a) for a in policy.close_asks]
    elif event is CaseEvent.ESCALATE:
        target = next((t for t in policy.escalation_targets if t.id == values.get("target")), None)
        if target is None:
            errors["target"] = "Please choose who to escalate to."
        else:
            asks = [(f"{target.id}.{a.id}", a) for a in target.asks]
    for field_id, ask in asks:
        value = values.get(field_id)
        if ask.required and not _required(value):
            errors[field_id] = "Please answer this question."
        elif isinstance(value, str) and len(value) > (ask.max_length or NOTE_LIMIT):
            errors[field_id] = f"Please keep this to {ask.max_length or NOTE_LIMIT:,} characters."
        elif ask.kind == "choice" and value and value not in {o.id for o in ask.options}:
            errors[field_id] = "Please choose one of the options shown."
    note = values.get("note")
    if isinstance(note, str) and len(note) > NOTE_LIMIT:
        errors["note"] = f"Please keep this to {NOTE_LIMIT:,} characters."
    return errors
