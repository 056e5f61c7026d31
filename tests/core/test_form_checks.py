"""Triage and board forms check their answers on the server: wrong types and oversize text
are refused on the field, never turned into text and recorded."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cases import forms
from bot.cases.decisions import NAME_OR_URL_LIMIT, check_decision
from bot.cases.lifecycle import CaseEvent
from bot.policy import load_default_pack

PACK = load_default_pack()


def checked(event: CaseEvent, values: dict[str, Any]) -> dict[str, str]:
    return forms.check(PACK, event, forms.normalise(PACK, event, values))


@pytest.mark.parametrize(
    ("event", "values", "field"),
    [
        (CaseEvent.ASSIGN, {"assignee": {"id": "U1"}}, "assignee"),
        (CaseEvent.ASSIGN, {"assignee": [7]}, "assignee"),
        (CaseEvent.RECORD_ACTION, {"actions": 3}, "actions"),
        (CaseEvent.RECORD_ACTION, {"actions": ["logged"], "note": 12}, "note"),
        (CaseEvent.ESCALATE, {"target": {"x": 1}}, "target"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_on_its_field(
    event: CaseEvent, values: dict[str, Any], field: str
) -> None:
    assert field in checked(event, values)


def test_a_good_form_passes_and_a_long_note_names_its_limit() -> None:
    action = PACK.abuse_report.record_actions[0].id
    assert checked(CaseEvent.RECORD_ACTION, {"actions": [action], "note": "Rang them."}) == {}
    errors = checked(CaseEvent.RECORD_ACTION, {"actions": [action], "note": "x" * 3001})
    assert errors == {"note": "Please keep this to 3,000 characters."}
    assert checked(CaseEvent.ASSIGN, {"assignee": "U1,U2"}) == {}, "Teams joins people"


def test_the_board_refuses_an_oversize_or_untyped_register_entry() -> None:
    long_name = "x" * (NAME_OR_URL_LIMIT + 1)
    assert check_decision(CaseEvent.APPROVE, {"name_or_url": long_name}) == {
        "name_or_url": f"Please keep this to {NAME_OR_URL_LIMIT:,} characters."
    }
    assert "comments" in check_decision(CaseEvent.REJECT, {"comments": ["no"]})
    assert check_decision(CaseEvent.APPROVE, {"name_or_url": "NES on X"}) == {}
