"""A register record as the row people read: option ids as the pack's words, times local.

The same row feeds the CSV and the JSON export, so both say the same thing. It names no
person and carries no free text but the piece of work: the register is for counting and
finding reports, the report itself is in the case export.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from bot.policy import PolicyPack
from bot.register.db import iso
from bot.register.query import Record

#: How many different answers to one question a :class:`Labeller` remembers the words of.
REMEMBERED = 4096
#: Column name → the answer it shows (``None`` for columns that are not answers).
COLUMNS: dict[str, str | None] = {
    "reference": None,
    "kind": None,
    "state": None,
    "urgent": None,
    "created_at": None,
    "acknowledged_at": None,
    "closed_at": None,
    "channel": "channel",
    "abuse_kind": "kind",
    "platform": "platform",
    "work_item": "work_item",
    "reporter_role": "reporter_role",
    "evidence_files": None,
}
#: The answers shown, in the order of their columns (between ``closed_at`` and the files).
_ANSWER_COLUMNS = tuple(answer for answer in COLUMNS.values() if answer is not None)


class Labeller:
    """Turns option ids into the words of the organisation's pack.

    Answers repeat (most are choices), so each answer's words are remembered, up to
    :data:`REMEMBERED` different answers per question: free text need not repeat.

    Args:
        pack: the policy pack; an id it does not know (an option since removed) stays as is.
    """

    def __init__(self, pack: PolicyPack) -> None:
        steps = pack.abuse_report.steps
        self._words = {
            key: {option.id: option.label for option in steps[key].options}
            for key in COLUMNS.values()
            if key is not None and key in steps
        }
        self._seen: defaultdict[str, dict[str, str]] = defaultdict(dict)

    def label(self, answer: str, value: str | None) -> str:
        """The words for ``value`` of ``answer``; ``""`` when unanswered."""
        if value is None:
            return ""
        seen = self._seen[answer]
        words = seen.get(value)
        if words is None:
            words = self._words_for(answer, value)
            if len(seen) < REMEMBERED:
                seen[value] = words
        return words

    def _words_for(self, answer: str, value: str) -> str:
        text = " ".join(str(value).split())  # one line, whatever was typed
        return self._words.get(answer, {}).get(text, text)


def register_values(record: Record, labeller: Labeller, zone: ZoneInfo) -> tuple[Any, ...]:
    """The record's cells, one per column of :data:`COLUMNS` and in that order."""
    answers, label = record.answers, labeller.label
    return (
        record.reference,
        record.kind,
        record.state,
        record.urgent,
        iso(record.created_at, zone),
        iso(record.acknowledged_at, zone),
        iso(record.closed_at, zone),
        *[label(answer, answers.get(answer)) for answer in _ANSWER_COLUMNS],
        record.evidence_files,
    )


def register_row(record: Record, labeller: Labeller, zone: ZoneInfo) -> dict[str, Any]:
    """The record as an ordered dict with the keys of :data:`COLUMNS`."""
    return dict(zip(COLUMNS, register_values(record, labeller, zone), strict=True))
