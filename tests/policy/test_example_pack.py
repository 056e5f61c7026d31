"""The Northshire example pack proves content is data: same code, different organisation."""

from __future__ import annotations

from bot.policy import load_pack
from tests.policy.conftest import DEFAULT_PACK, NORTHSHIRE_PACK


def test_example_pack_loads_and_differs_from_the_default() -> None:
    default, northshire = load_pack(DEFAULT_PACK), load_pack(NORTHSHIRE_PACK)

    assert northshire.organisation.name == "Northshire Health Board"
    assert northshire.organisation.name != default.organisation.name
    assert northshire.abuse_report.reference_prefix != default.abuse_report.reference_prefix
    assert northshire.business_case.reference_prefix != default.business_case.reference_prefix

    default_emails = {c.email for c in default.contacts if c.email}
    northshire_emails = {c.email for c in northshire.contacts if c.email}
    assert northshire_emails
    assert not default_emails & northshire_emails
    assert all(e.endswith("@northshire.example.nhs.uk") for e in northshire_emails)


def test_exactly_one_question_is_worded_differently() -> None:
    default, northshire = load_pack(DEFAULT_PACK), load_pack(NORTHSHIRE_PACK)
    pairs = zip(default.business_case.questions, northshire.business_case.questions, strict=True)
    differing = [(a.number, b.text) for a, b in pairs if a.text != b.text]
    assert len(differing) == 1
    number, text = differing[0]
    assert number == 9
    assert "Northshire Health Board" in text


def test_example_reply_counts_are_right_and_members_resolve() -> None:
    pack = load_pack(NORTHSHIRE_PACK)
    for situation in pack.replies.situations:
        for reply in situation.replies:
            assert reply.stated_count_matches in (True, None)
    assert "triage_manager" in pack.roles_of(["Safety.Triage@Northshire.example.nhs.uk"])
    assert pack.may("case.acknowledge", ["slack:U0NHB0001"])
    assert not pack.may("case.acknowledge", ["slack:U0SOMEONE"])
