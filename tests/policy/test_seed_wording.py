"""The verbatim parts of the default pack are found, word for word, in the seed policy.

Runs where the shared seeds sit next to the repository, and is skipped elsewhere.
"""

from __future__ import annotations

import pytest

from bot.policy import load_default_pack
from tests.policy.conftest import SEEDS

seed_files = sorted(SEEDS.glob("002_*.txt")) if SEEDS.is_dir() else []
pytestmark = pytest.mark.skipif(not seed_files, reason="seed 002 not available")


@pytest.fixture(scope="module")
def seed_lines() -> set[str]:
    text = seed_files[0].read_text(encoding="utf-8")
    # The seed's bullets and table cells start with "· " or a tab; lines may end in spaces.
    return {line.strip().removeprefix("· ").strip() for line in text.splitlines()}


@pytest.fixture(scope="module")
def seed_text() -> str:
    return "\n".join(
        line.rstrip() for line in seed_files[0].read_text(encoding="utf-8").splitlines()
    )


def test_checklist_questions_and_declaration(seed_lines: set[str]) -> None:
    case = load_default_pack().business_case
    for text in [p.text for p in case.checklist] + [q.text for q in case.questions]:
        assert text in seed_lines
    assert case.checklist_intro in seed_lines
    assert f"Declaration:    {case.declaration}" in seed_lines
    for link in case.checklist[4].links:
        assert f"{link.url}  ({link.label})" in seed_lines


def test_replies_and_email_template(seed_text: str) -> None:
    replies = load_default_pack().replies
    for situation in replies.situations:
        for reply in situation.replies:
            assert reply.text in seed_text
        if situation.email_template is not None:
            assert situation.email_template.text in seed_text
