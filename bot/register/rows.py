"""A register record as the row people read: option ids as the pack's words, times local.

The same row feeds the CSV and the JSON export, so both say the same thing. It names no
person and carries no free text but the piece of work: the register is for counting and
finding reports, the report itself is in the case export.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.policy import PolicyPack
from bot.register.db import iso
from bot.register.query import Record

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


class Labeller:
    """Turns option ids into the words of the organisation's pack.

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

    def label(self, answer: str, value: str | None) -> str:
        """The words for ``value`` of ``answer``; ``""`` when unanswered."""
        if value is None:
            return ""
        text = " ".join(str(value).split())  # one line, whatever was typed
        return self._words.get(answer, {}).get(text, text)


def register_row(record: Record, labeller: Labeller, zone: ZoneInfo) -> dict[str, Any]:
    """The record as an ordered dict with the keys of :data:`COLUMNS`."""
    row: dict[str, Any] = {
        "reference": record.reference,
        "kind": record.kind,
        "state": record.state,
        "urgent": record.urgent,
        "created_at": iso(record.created_at, zone),
        "acknowledged_at": iso(record.acknowledged_at, zone),
        "closed_at": iso(record.closed_at, zone),
    }
    for column, answer in COLUMNS.items():
        if answer is not None:
            row[column] = labeller.label(answer, record.answers.get(answer))
    row["evidence_files"] = record.evidence_files
    return row
