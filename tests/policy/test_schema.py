"""Schema rules checked on models built in code: identities, permissions, cross-references."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.policy import CrossReferenceError, PolicyPack, load_default_pack, normalise_identity
from bot.policy.common import format_loc
from bot.policy.organisation import Reminders, WorkingHours


@pytest.fixture
def data() -> dict[str, Any]:
    """The default pack as plain data, to break one thing at a time."""
    return copy.deepcopy(load_default_pack().model_dump())


def invalid(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        PolicyPack.model_validate(data)
    return str(caught.value)


def test_round_trip(data: dict[str, Any]) -> None:
    assert PolicyPack.model_validate(data) == load_default_pack()


def test_packs_are_frozen() -> None:
    pack = load_default_pack()
    with pytest.raises(ValidationError):
        pack.organisation.name = "changed"  # type: ignore[misc]


def test_roles_of_and_may(data: dict[str, Any]) -> None:
    data["roles"]["triage_manager"]["members"] = ["Triage@Example.org", "slack:U0TRIAGE"]
    data["roles"]["board_member"]["members"] = ["teams:6F1A3C9E-0000-4000-8000-000000000000"]
    pack = PolicyPack.model_validate(data)

    assert pack.roles_of(["triage@example.org"]) == {"reporter", "triage_manager"}
    assert pack.roles_of(["not an identity", "x@y.org"]) == {"reporter"}
    assert pack.may("case.acknowledge", ["slack:U0TRIAGE"])
    assert not pack.may("case.acknowledge", ["slack:U0OTHER"])
    assert pack.may("case.approve", ["teams:6f1a3c9e-0000-4000-8000-000000000000"])
    assert pack.may("flow.start.abuse_report", [])
    assert pack.may("case.check_in", ["someone@example.org"], case_roles=["case_line_manager"])
    assert not pack.may("case.approve", ["someone@example.org"], case_roles=["case_applicant"])
    with pytest.raises(ValueError):
        pack.may("case.explode", [])


def test_reporter_has_no_members(data: dict[str, Any]) -> None:
    data["roles"]["reporter"]["members"] = ["someone@example.org"]
    assert "reporter is everyone" in invalid(data)


def test_required_roles(data: dict[str, Any]) -> None:
    del data["roles"]["corporate_office"]
    for action, roles in data["permissions"].items():
        data["permissions"][action] = [r for r in roles if r != "corporate_office"]
    assert "missing role 'corporate_office'" in invalid(data)


def test_cross_reference_errors_keep_their_paths(data: dict[str, Any]) -> None:
    data["business_case"]["send_to"] = "nobody"
    data["abuse_report"]["escalation_targets"][0]["contact"] = "nobody"
    with pytest.raises(ValidationError) as caught:
        PolicyPack.model_validate(data)
    cause = caught.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, CrossReferenceError)
    assert [format_loc(loc) for loc, _ in cause.problems] == [
        "abuse_report.escalation_targets[0].contact",
        "business_case.send_to",
    ]


def test_yes_no_steps_need_yes_and_no(data: dict[str, Any]) -> None:
    data["abuse_report"]["steps"]["ongoing"]["options"][1]["id"] = "nope"
    assert "exactly the options 'yes' and 'no'" in invalid(data)


def test_logic_bearing_options_must_exist(data: dict[str, Any]) -> None:
    options = data["abuse_report"]["steps"]["account_kind"]["options"]
    options[1]["id"] = "company"
    assert "needs an option with id 'organisational'" in invalid(data)


def test_reporter_roles_say_who_they_report_to(data: dict[str, Any]) -> None:
    data["abuse_report"]["steps"]["reporter_role"]["options"][0]["reports_to"] = "nobody"
    assert "reports_to" in invalid(data)


def test_notices_use_known_placeholders(data: dict[str, Any]) -> None:
    data["abuse_report"]["notices"]["closed"] = "Report {ref} closed."
    assert "unknown placeholder {ref}" in invalid(data)


def test_questions_are_numbered_in_order(data: dict[str, Any]) -> None:
    data["business_case"]["questions"][3]["number"] = 5
    assert "expected 4" in invalid(data)


def test_decisions_are_exactly_the_three(data: dict[str, Any]) -> None:
    data["business_case"]["decision_options"].pop()
    assert "missing 'request_changes'" in invalid(data)


def test_advice_takes_one_kind_of_link(data: dict[str, Any]) -> None:
    item = next(a for a in data["abuse_report"]["advice"] if a["link_from_platform"])
    item["link"] = {"label": "x", "url": "https://example.org/"}
    assert "not both" in invalid(data)


def test_duplicate_reply_ids(data: dict[str, Any]) -> None:
    data["replies"]["situations"][2]["replies"][0]["id"] = "distress_c"
    assert "duplicate reply id 'distress_c'" in invalid(data)


def test_reminder_intervals() -> None:
    with pytest.raises(ValidationError):
        Reminders(check_in_days=0)
    with pytest.raises(ValidationError, match="later than"):
        Reminders(unacknowledged_hours=8, unacknowledged_escalate_hours=8)


def test_working_hours() -> None:
    with pytest.raises(ValidationError, match="before"):
        WorkingHours.model_validate({"start": "17:00", "end": "09:00"})
    with pytest.raises(ValidationError, match="quoted text"):
        WorkingHours.model_validate({"start": 540, "end": "17:00"})


@pytest.mark.parametrize("bad", ["bob", "slack:u123", "teams:not-a-guid", "mailto:a@b.org"])
def test_bad_identities(bad: str) -> None:
    with pytest.raises(ValueError, match="not an identity"):
        normalise_identity(bad)


@given(
    st.from_regex(r"[a-z0-9._]{1,12}@[a-z0-9]{1,10}\.(org|uk|com)", fullmatch=True),
    st.booleans(),
)
def test_email_identities_ignore_case(address: str, upper: bool) -> None:
    written = address.upper() if upper else address
    assert normalise_identity(written) == address
    assert normalise_identity(normalise_identity(written)) == address


@given(st.lists(st.text(max_size=30), max_size=5))
def test_everyone_is_a_reporter(identities: list[str]) -> None:
    assert "reporter" in load_default_pack().roles_of(identities)


def test_format_loc() -> None:
    assert format_loc(("abuse_report", "steps", "kind", "options", 3, "label")) == (
        "abuse_report.steps.kind.options[3].label"
    )
    assert format_loc(("permissions", "case.close", 0)) == 'permissions["case.close"][0]'
    assert format_loc(()) == "(top level)"
