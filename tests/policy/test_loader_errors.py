"""A broken pack is refused with problems that name the file, the line and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.policy import PackError, load_pack, parse_pack
from tests.policy.conftest import line_of, replace_once

WritePack = Callable[..., Path]


def refuse(path: Path) -> PackError:
    with pytest.raises(PackError) as caught:
        load_pack(path)
    return caught.value


def test_missing_field_names_file_line_and_dotted_path(
    default_text: str, write_pack: WritePack
) -> None:
    text = replace_once(
        default_text, "        - {id: harassment, label: Harassment}", "        - {id: harassment}"
    )
    path = write_pack(text)
    error = refuse(path)
    line = line_of(text, "{id: harassment}")
    expected = f"{path}:{line}: abuse_report.steps.kind.options[4].label: Field required"
    assert [str(p) for p in error.problems] == [expected]
    assert str(error) == expected
    assert isinstance(error, ValueError)


def test_missing_nested_field_points_at_its_parent(
    default_text: str, write_pack: WritePack
) -> None:
    text = replace_once(default_text, "      label: What happened?\n", "")
    path = write_pack(text)
    line = line_of(text, "    description:")
    assert f"{path}:{line}: abuse_report.steps.description.label: Field required" in str(
        refuse(path)
    )


def test_unknown_role_in_permissions(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, "case.assign: [triage_manager,", "case.assign: [triage_boss,")
    path = write_pack(text)
    line = line_of(text, "case.assign:")
    message = str(refuse(path))
    assert f":{line}: permissions[\"case.assign\"][0]: unknown role 'triage_boss'" in message


def test_unknown_action_in_permissions(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, "  presence.checked:", "  presence.chekced:")
    message = str(refuse(write_pack(text)))
    line = line_of(text, "presence.chekced")
    assert f':{line}: permissions["presence.chekced"]: unknown action' in message


def test_unknown_contact_in_routing(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(
        default_text,
        "protected_characteristic: [equality_diversity_adviser]",
        "protected_characteristic: [equality_adviser]",
    )
    line = line_of(text, "protected_characteristic:")
    message = str(refuse(write_pack(text)))
    assert (
        f":{line}: routing.abuse_report.protected_characteristic[0]: "
        "unknown contact 'equality_adviser'"
    ) in message


def test_duplicate_keys_are_refused(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(
        default_text, "  short_name: NICE/NES\n", "  short_name: NICE/NES\n  name: Someone else\n"
    )
    first = line_of(text, "  name: NICE and NHS")
    second = line_of(text, "  name: Someone else")
    message = str(refuse(write_pack(text)))
    assert f":{second}: organisation.name: duplicate key 'name' (first given on line {first})" in (
        message
    )


def test_duplicate_ids_are_refused(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(
        default_text,
        "  - id: samaritans\n    label: Samaritans\n",
        "  - id: press_office\n    label: Samaritans\n",
    )
    line = line_of(text, '    phone: "116123"') - 2
    assert f":{line}: contacts[11]: duplicate contact id 'press_office'" in str(
        refuse(write_pack(text))
    )


def test_bad_time_zone(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, "time_zone: Europe/London", "time_zone: Europe/Londres")
    line = line_of(text, "time_zone:")
    assert f":{line}: organisation.time_zone: unknown time zone 'Europe/Londres'" in str(
        refuse(write_pack(text))
    )


def test_advice_naming_unknown_step_or_option(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(
        default_text, "when: {details_exposed: yes}", "when: {details_exposed: maybe, mood: x}"
    )
    line = line_of(text, "details_exposed: maybe")
    message = str(refuse(write_pack(text)))
    assert f":{line}: abuse_report.advice[9].when.details_exposed[0]: unknown option 'maybe'" in (
        message
    )
    assert f":{line}: abuse_report.advice[9].when.mood: unknown step 'mood'" in message


def test_unknown_field_is_a_spelling_mistake(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, "  reference_prefix: AB\n", "  reference_prefx: AB\n")
    line = line_of(text, "reference_prefx")
    assert f":{line}: abuse_report.reference_prefx: unknown field" in str(refuse(write_pack(text)))


def test_every_field_problem_is_listed(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, "time_zone: Europe/London", "time_zone: Mars/Base")
    text = replace_once(text, "  reference_prefix: SC\n", "  reference_prefix: sc\n")
    error = refuse(write_pack(text))
    assert [p.path for p in error.problems] == [
        "organisation.time_zone",
        "business_case.reference_prefix",
    ]


def test_every_cross_reference_problem_is_listed(default_text: str, write_pack: WritePack) -> None:
    # Cross-references are checked once every field is valid, then all are reported at once.
    text = replace_once(default_text, "case.close: [triage_manager,", "case.close: [nobody,")
    text = replace_once(text, "    copies: [corporate_communications]", "    copies: [comms]")
    error = refuse(write_pack(text))
    assert [p.path for p in error.problems] == [
        'permissions["case.close"][0]',
        "routing.business_case.copies[0]",
    ]


def test_yaml_syntax_error_names_the_line(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, "  short_name: NICE/NES\n", "  short_name: [NICE/NES\n")
    path = write_pack(text)
    message = str(refuse(path))
    assert message.startswith(f"{path}:")
    assert "YAML syntax" in message
    number = int(message.split(":")[1])
    assert abs(number - line_of(text, "[NICE/NES")) <= 1


def test_yes_and_no_stay_text() -> None:
    # YAML 1.1 would read these as booleans; option ids must stay the words.
    with pytest.raises(PackError) as caught:
        parse_pack("organisation: {name: yes, short_name: no}\n", "inline.yaml")
    assert "organisation.name" not in str(caught.value)
    assert "inline.yaml:1: roles: Field required" in str(caught.value)


def test_unquoted_time_is_refused(default_text: str, write_pack: WritePack) -> None:
    text = replace_once(default_text, 'start: "09:00"', "start: 9:00")
    line = line_of(text, "start: 9:00")
    assert f":{line}: organisation.working_hours.start:" in str(refuse(write_pack(text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "pack.yaml:1: the pack is empty"),
        ("- a list\n", "pack.yaml:1: a pack is a mapping of sections"),
        ("a: 1\n---\nb: 2\n", "pack.yaml:2: YAML syntax"),
    ],
)
def test_not_a_pack(text: str, expected: str) -> None:
    with pytest.raises(PackError) as caught:
        parse_pack(text, "pack.yaml")
    assert str(caught.value).startswith(expected)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    error = refuse(path)
    assert str(error).startswith(f"{path}: cannot read the pack")
