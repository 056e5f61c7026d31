"""Answers as platforms send them, brought to the one shape the flow engine validates.

Slack gives lists for multiple choices and people; Teams gives one comma-separated string.
Text is stripped and the characters no one can type are taken out. A value of the wrong
type (a number or an object where text is asked for) is kept as it came, never turned into
text, so the step's validators refuse it on its field instead of storing ``str(value)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flows.spec import LIST_KINDS, Page, StepKind, is_blank, typed


def normalise(page: Page, values: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The page's answers from ``values`` (what the platform sent), in the engine's shape.

    Args:
        page: the page answered; only its steps shown (given the answers) are read.
        values: what the platform sent, by step id.
        answers: the draft's answers so far (files already attached are kept).
    """
    visible = page.visible_steps({**answers, **values})
    out: dict[str, Any] = {}
    for step in visible:
        if not step.takes_answer:
            continue
        value = values.get(step.id)
        if step.kind is StepKind.FILES and value is None:
            # No new files this time: keep the ones already attached (a modal cannot
            # show files attached earlier, so an empty file field must not erase them).
            out[step.id] = list(answers.get(step.id) or [])
        elif step.kind in LIST_KINDS:
            items = [_stripped(v) for v in as_list(value) if not is_blank(v)]
            out[step.id] = list(dict.fromkeys(items)) if _hashable(items) else items
        elif step.kind is StepKind.CONFIRM:
            out[step.id] = _confirmation(value)
        else:
            out[step.id] = "" if value is None else _stripped(value)
    return out


def _stripped(value: Any) -> Any:
    return typed(value).strip() if isinstance(value, str) else value


def _hashable(items: list[Any]) -> bool:
    return all(isinstance(item, str) for item in items)


def _confirmation(value: Any) -> Any:
    """A ticked "I confirm" (Slack sends ``["yes"]``, Teams ``"yes"``) is "yes"; unticked is ""."""
    if value is None or value is False or value == [] or value in ("", "false", "no"):
        return ""
    if value == ["yes"] or value in ("yes", "true"):
        return "yes"
    return value


def as_list(value: Any) -> list[Any]:
    """Lists stay lists; Teams sends multiple choices as one comma-separated string."""
    if isinstance(value, list | tuple):
        return list(value)
    if is_blank(value):
        return []
    return [part.strip() for part in str(value).split(",")] if isinstance(value, str) else [value]
