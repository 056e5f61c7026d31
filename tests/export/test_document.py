"""The JSON export: one plain dict holding every version, the diff, the support, the
decision, the register entry and every timeline event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.export.cli import render
from bot.export.document import load_document
from bot.storage.engine import create_engine, session_factory
from tests.export.conftest import (
    APPLICANT,
    APPROVE_COMMENTS,
    BOARD,
    HOSTILE,
    MANAGER,
    REFERENCE,
    REQUEST_COMMENTS,
    SITE,
    Seeded,
)

EXPORTED = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)


async def export(seeded: Seeded, reference: str = REFERENCE) -> dict[str, Any] | None:
    """The document for ``reference``, read from the seeded database."""
    engine = create_engine(seeded.url)
    try:
        async with session_factory(engine)() as session:
            return await load_document(session, seeded.pack, reference, EXPORTED)
    finally:
        await engine.dispose()


async def test_json_round_trips_and_holds_the_whole_case(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    text = render(doc, "json").decode()
    assert json.loads(text) == doc
    assert "“quotes”" in text and "£100" in text  # ensure_ascii=False: readable UTF-8
    assert doc["document"]["organisation"] == seeded.pack.organisation.name
    assert doc["document"]["exported_at"] == "2026-03-05T09:30:00+00:00"
    case = doc["case"]
    assert (case["reference"], case["kind"], case["state"]) == (
        REFERENCE,
        "business_case",
        "approved",
    )
    assert case["reporter"] == {"name": APPLICANT.display_name, "id": APPLICANT.key}


async def test_answers_carry_the_packs_question_words(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    answers = {a["key"]: a for a in doc["answers"]}
    purpose = next(q for q in seeded.pack.business_case.questions if q.id == "purpose")
    assert answers["purpose"]["label"] == f"{purpose.number}. {purpose.text}"
    assert HOSTILE in answers["purpose"]["value"]
    assert answers["risks"]["value"] == "Trolls; résumé spam"  # the latest version
    assert answers["check_cost_effective"]["value"] == "Yes"  # option id as its words
    assert answers["declaration"]["label"] == seeded.pack.business_case.declaration
    keys = list(answers)
    assert keys.index("check_business_need") < keys.index("name") < keys.index("purpose")


async def test_every_version_and_what_changed(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    first, second = doc["versions"]
    assert (first["number"], second["number"]) == (1, 2)
    assert first["created_by"] == {"name": APPLICANT.display_name, "id": APPLICANT.key}
    assert first["changes"] == []
    assert {a["key"]: a["value"] for a in first["answers"]}["risks"] == "Trolls"
    changes = {c["label"]: (c["was"], c["now"]) for c in second["changes"]}
    risks = next(q for q in seeded.pack.business_case.questions if q.id == "risks")
    assert changes[f"{risks.number}. {risks.text}"] == ("Trolls", "Trolls; résumé spam")
    cost = next(p for p in seeded.pack.business_case.checklist if p.id == "cost_effective")
    assert changes[f"Checklist: {cost.text}"] == ("No", "Yes")
    assert len(changes) == 2


async def test_support_decision_and_register(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    support = doc["support"]
    assert support["by"] == {"name": MANAGER.display_name, "id": MANAGER.key}
    assert support["statement"] == "I am aware of and support this application"
    assert support["at"]
    decision = doc["decision"]
    assert decision["decision"] == "approve"
    assert decision["signed"] == {"name": BOARD.display_name, "id": BOARD.key}
    assert decision["comments"] == APPROVE_COMMENTS
    assert datetime.fromisoformat(decision["date"]).tzinfo is not None
    assert [d["decision"] for d in doc["decisions"]] == ["request_changes", "approve"]
    assert doc["decisions"][0]["comments"] == REQUEST_COMMENTS
    register = doc["register"]
    assert register["name_or_url"] == SITE and register["platform"] == "Facebook"
    assert register["owner"]["id"] == APPLICANT.key
    assert register["approved_by"] == {"name": BOARD.display_name, "id": BOARD.key}
    assert register["approved_at"].startswith("2026-03-04T14:05:00")
    assert register["review_at"].startswith("2028-03-03")


async def test_every_timeline_event_internal_ones_included(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    timeline = doc["timeline"]
    assert [e["event"] for e in timeline] == [
        "submitted",
        "support",
        "request_changes",
        "resubmit",
        "approve",
        "note",
    ]
    assert [e["seq"] for e in timeline] == [1, 2, 3, 4, 5, 6]
    assert timeline[2]["detail"] == {"comments": REQUEST_COMMENTS}
    assert (timeline[4]["from_state"], timeline[4]["to_state"]) == ("under_review", "approved")
    assert timeline[5]["internal"] is True
    assert all(len(e["hash"]) == 64 for e in timeline)
    assert doc["timeline_intact"] is True


async def test_unknown_reference_is_none(seeded: Seeded) -> None:
    assert await export(seeded, "SC-1999-9999") is None
