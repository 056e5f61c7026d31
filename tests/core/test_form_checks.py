"""Triage and board forms check their answers on the server: wrong types and oversize text
are refused on the field, never turned into text and recorded."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cases import forms
from bot.cases.decisions import NAME_OR_URL_LIMIT, check_decision, decision_fields
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


@pytest.mark.parametrize(
    "assignee",
    ["<!channel> " + "x" * 50_000, "U1,<@U2>", ",".join(f"U{i}" for i in range(11))],
    ids=["a long text", "a mention", "eleven people"],
)
def test_an_assignee_must_be_people_from_the_picker(assignee: str) -> None:
    """The picker gives platform ids, a few of them; typed text is not someone to assign."""
    errors = checked(CaseEvent.ASSIGN, {"assignee": assignee})
    assert errors == {"assignee": "Please choose up to 10 people from the list."}


def test_an_escalation_keeps_only_the_chosen_targets_answers() -> None:
    first, second = PACK.abuse_report.escalation_targets[:2]
    values: dict[str, Any] = {"target": first.id}
    values |= {f"{first.id}.{ask.id}": "yes" for ask in first.asks}
    values |= {f"{second.id}.{ask.id}": "y" * 1_000_000 for ask in second.asks}
    kept = forms.normalise(PACK, CaseEvent.ESCALATE, values)
    assert kept["target"] == first.id
    assert not [key for key in kept if key.startswith(f"{second.id}.")]
    assert [key for key in kept if key.startswith(f"{first.id}.")] == [
        f"{first.id}.{ask.id}" for ask in first.asks
    ]


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        (CaseEvent.SUPPORT, ()),
        (CaseEvent.APPROVE, ("comments", "name_or_url")),
        (CaseEvent.REJECT, ("comments",)),
    ],
)
def test_a_decision_records_only_the_fields_its_form_asks(
    event: CaseEvent, fields: tuple[str, ...]
) -> None:
    assert decision_fields(event) == fields
