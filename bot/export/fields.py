"""The questions a case answers, in form order, and its answers as words a reader understands.

A case's ``data`` holds option ids (``not_sure``), lists of people and the like; an export
for the records shows each answer under the question's own words from the policy pack, with
choices spelled out (``Not sure``). Business cases take their labels from the board's card
(:func:`bot.cases.board_cards.field_labels`) so the record reads like what the board saw;
abuse reports take theirs from ``pack.abuse_report.steps``. The small text helpers at the
end (times, people, ids as words) are shared by the layout of the HTML and PDF exports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.cases import board_cards
from bot.flows.business_case import CHECK_PREFIX
from bot.policy import PolicyPack

BUSINESS_CASE = "business_case"


def labels_for(pack: PolicyPack, kind: str) -> dict[str, str]:
    """Every question's label by answer key, in form order, for a case of ``kind``.

    Args:
        pack: the organisation's policy pack.
        kind: ``"business_case"`` or ``"abuse_report"``; any other kind has no labels.
    """
    if kind == BUSINESS_CASE:
        labels = board_cards.field_labels(pack)
        labels["declaration"] = pack.business_case.declaration
        return labels
    if kind == "abuse_report":
        return {key: step.label for key, step in pack.abuse_report.steps.items()}
    return {}


def choices_for(pack: PolicyPack, kind: str) -> dict[str, dict[str, str]]:
    """For each answer key with fixed options: option id → the option's words."""
    if kind == BUSINESS_CASE:
        words = {o.id: o.label for o in pack.business_case.checklist_answers}
        return {f"{CHECK_PREFIX}{p.id}": words for p in pack.business_case.checklist}
    if kind == "abuse_report":
        return {
            key: {o.id: o.label for o in step.options}
            for key, step in pack.abuse_report.steps.items()
            if step.options
        }
    return {}


def shown(value: Any, choices: Mapping[str, str] | None = None) -> str:
    """An answer as text: option ids as their words, lists joined, ``True`` as "Yes"."""
    choices = choices or {}
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(shown(item, choices) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = str(value)
    return choices.get(text, text)


def answer_rows(
    labels: Mapping[str, str], choices: Mapping[str, Mapping[str, str]], data: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Every answer in ``data`` as ``{"key", "label", "value"}``, in form order.

    Answers the pack has no label for (a field since removed from the pack) are kept, after
    the others, under their key: the record must not lose anything that was submitted.
    """
    ordered = [key for key in labels if key in data]
    ordered += [key for key in data if key not in labels]
    return [
        {
            "key": key,
            "label": labels.get(key, key),
            "value": shown(data[key], choices.get(key)),
        }
        for key in ordered
    ]


def readable(choices: Mapping[str, Mapping[str, str]], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with each option id replaced by the option's words (other values untouched)."""
    return {
        key: shown(value, choices[key]) if key in choices else value for key, value in data.items()
    }


def changed(
    pack: PolicyPack,
    kind: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> list[dict[str, str]]:
    """What changed between two versions' answers: ``{"label", "was", "now"}``, form order.

    Business cases use the board card's own comparison
    (:func:`bot.cases.board_cards.changes`), so the record shows the diff the board was shown;
    answers it does not cover (the declaration, fields no longer in the pack) and every answer
    of other kinds are compared here the same way.
    """
    labels = labels_for(pack, kind)
    choices = choices_for(pack, kind)
    was, now = readable(choices, before), readable(choices, after)
    rows: list[tuple[str, str, str]] = []
    covered: set[str] = set()
    if kind == BUSINESS_CASE:
        rows += board_cards.changes(pack, was, now)
        covered = set(board_cards.field_labels(pack))
    keys = [k for k in labels if k not in covered]
    keys += [k for k in (*was, *now) if k not in labels and k not in covered]
    for key in dict.fromkeys(keys):
        old, new = shown(was.get(key)), shown(now.get(key))
        if old != new:
            rows.append((labels.get(key, key), old, new))
    return [{"label": label, "was": old, "now": new} for label, old, new in rows]


def when_text(iso: str | None) -> str:
    """An ISO 8601 time as ``4 March 2026, 14:05 (UTC+00:00)``; empty for none."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    offset = moment.strftime("%z")
    return f"{moment.day} {moment:%B %Y, %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def person_text(person: dict[str, Any] | None) -> str:
    """A person as ``Name (platform:id)``, or just the id when no name is known."""
    if not person:
        return ""
    name, key = str(person.get("name") or ""), str(person.get("id") or "")
    return f"{name} ({key})" if name and key else name or key


def words(name: str | None) -> str:
    """An id such as ``request_changes`` as words: ``Request changes``."""
    return (name or "").replace("_", " ").capitalize()


def value_text(value: Any) -> str:
    """Any detail value as one string (nested values as JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
