"""Neutral cards for flow pages: what a page looks like before a platform renders it.

One function turns a ``FlowView`` into a ``Card`` with one input per visible step, the
answers given so far filled in, field errors attached, and the buttons to go on, go back or
stop. Slack shows it as a modal view; Teams as an Adaptive Card in the personal chat.
"""

from __future__ import annotations

from typing import Any

from bot.actions import ActionName, ActionRef
from bot.cards import (
    Actions,
    Button,
    Card,
    ChoiceInput,
    DateInput,
    Element,
    Fields,
    FileInput,
    Option,
    PeopleInput,
    Text,
    TextInput,
)
from bot.flows.engine import FlowView
from bot.flows.spec import Step, StepKind

METADATA_SEPARATOR = ":"


def page_metadata(view: FlowView) -> str:
    """What the platform carries back on submit: the draft id and the page it showed."""
    return f"{view.draft.id}{METADATA_SEPARATOR}{view.page.id}"


def parse_metadata(metadata: object) -> tuple[str, str]:
    """Split ``page_metadata`` output; raises ValueError on anything else."""
    if not isinstance(metadata, str):
        raise ValueError("not a flow page")
    draft_id, _, page_id = metadata.partition(METADATA_SEPARATOR)
    if not draft_id or not page_id:
        raise ValueError("not a flow page")
    return draft_id, page_id


def page_card(view: FlowView, *, file_hint: str = "") -> Card:
    """The card for the page a draft is on.

    Args:
        view: the engine's view of the page.
        file_hint: extra words under a file step (Teams asks for chat attachments).
    """
    number, total = view.position
    elements: list[Element] = []
    if view.resumed:
        elements.append(Text("Welcome back. Your answers so far have been kept.", "muted"))
    if view.page.intro:
        elements.append(Text(view.page.intro))
    if any(step.kind is StepKind.CONFIRM for step in view.steps):
        elements.extend(_summary(view))
    for step in view.steps:
        elements.extend(
            _step_elements(
                step, view.draft.answers.get(step.id), view.errors.get(step.id), file_hint
            )
        )
    elements.append(Text(f"Page {number} of {total}", "muted"))
    nav = [_nav(ActionName.FLOW_BACK, "Back", view)] if view.can_go_back else []
    nav.append(_nav(ActionName.FLOW_DISCARD, "Discard draft", view, style="danger"))
    elements.append(Actions(tuple(nav)))
    submit_name = ActionName.FLOW_SUBMIT if view.is_last else ActionName.FLOW_NEXT
    submit_label = view.spec.submit_label if view.is_last else "Next"
    return Card(
        title=view.spec.title,
        elements=tuple(elements),
        submit=Button(submit_label, _ref(submit_name, view), "primary"),
        cancel_label="Close",
        fallback=f"{view.spec.title}: {view.page.title}",
        metadata=page_metadata(view),
    )


def saved_card() -> Card:
    """What "stop for now" shows: the draft was saved with the last page, nothing is lost."""
    return Card(
        title="Your draft is saved",
        elements=(
            Text(
                "Your answers so far are saved. You can carry on at any time: run the "
                "command again and you will start where you stopped."
            ),
        ),
        cancel_label="Close",
    )


def _nav(name: ActionName, label: str, view: FlowView, style: Any = "default") -> Button:
    return Button(label, _ref(name, view), style)


def _ref(name: ActionName, view: FlowView) -> str:
    return ActionRef(name, view.draft.id, view.draft.version).encode()


def _step_elements(
    step: Step, value: Any, error: str | None, file_hint: str
) -> tuple[Element, ...]:
    """The input (or text) for one step, prefilled with the answer given so far."""
    match step.kind:
        case StepKind.INFO:
            return (Text(step.label, "alert" if step.hint == "alert" else "plain"),)
        case StepKind.TEXT | StepKind.LONG_TEXT:
            return (
                TextInput(
                    id=step.id,
                    label=step.label,
                    hint=step.hint,
                    multiline=step.kind is StepKind.LONG_TEXT,
                    required=step.required,
                    max_length=step.limit,
                    initial=_text(value),
                    error=error,
                ),
            )
        case StepKind.CHOICE | StepKind.YES_NO | StepKind.MULTI_CHOICE:
            return (
                ChoiceInput(
                    id=step.id,
                    label=step.label,
                    hint=step.hint,
                    options=tuple(Option(v, label) for v, label in step.choices),
                    multiple=step.kind is StepKind.MULTI_CHOICE,
                    required=step.required,
                    initial=_as_tuple(value),
                    error=error,
                ),
            )
        case StepKind.PEOPLE:
            return (
                PeopleInput(
                    id=step.id,
                    label=step.label,
                    hint=step.hint,
                    required=step.required,
                    initial=_as_tuple(value),
                    error=error,
                ),
            )
        case StepKind.DATE:
            return (
                DateInput(
                    id=step.id,
                    label=step.label,
                    hint=step.hint,
                    required=step.required,
                    initial=_text(value),
                    error=error,
                ),
            )
        case StepKind.FILES:
            hint = " ".join(part for part in (step.hint, file_hint) if part)
            attached: tuple[Element, ...] = ()
            if isinstance(value, list) and value:
                count = len(value)
                attached = (
                    Text(
                        f"{count} file{'s' if count != 1 else ''} attached so far. "
                        "Anything you add now is kept as well.",
                        "muted",
                    ),
                )
            return (
                FileInput(
                    id=step.id, label=step.label, hint=hint, required=step.required, error=error
                ),
                *attached,
            )
        case StepKind.CONFIRM:
            return (
                ChoiceInput(
                    id=step.id,
                    label=step.label,
                    hint=step.hint,
                    options=(Option("yes", "I confirm"),),
                    multiple=True,
                    required=step.required,
                    initial=_as_tuple(value),
                    error=error,
                ),
            )
    return (Text(step.label),)


SUMMARY_LABEL = 120


def _summary(view: FlowView) -> tuple[Element, ...]:
    """Every answer given so far, so the person can check (and go back to change) it."""
    answers = view.draft.answers
    rows: list[tuple[str, str]] = []
    for page in view.spec.visible_pages(answers):
        for step in page.visible_steps(answers):
            if step.kind in (StepKind.INFO, StepKind.CONFIRM) or step.id not in answers:
                continue
            label = (
                step.label
                if len(step.label) <= SUMMARY_LABEL
                else (step.label[: SUMMARY_LABEL - 1] + "…")
            )
            rows.append((label, _answer_text(step, answers[step.id])))
    if not rows:
        return ()
    return (
        Text("Your answers. Use Back to change anything before you send it.", "muted"),
        Fields(tuple(rows)),
    )


def _answer_text(step: Step, value: Any) -> str:
    if step.kind is StepKind.FILES:
        count = len(value or [])
        return f"{count} file{'s' if count != 1 else ''}"
    labels = dict(step.choices)
    shown = [labels.get(str(v), str(v)) for v in _as_tuple(value)]
    return ", ".join(shown) or "Not given"


def _text(value: Any) -> str:
    """An answer shown back in its box: text as typed; a value of the wrong type not at all."""
    return value if isinstance(value, str) else ""


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()
