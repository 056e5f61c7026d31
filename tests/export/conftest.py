"""A real SQLite database holding one business case with its whole history, made directly
through the repositories: two versions (a checklist "no" changed to "yes" and a question
reworded), the line manager's support, changes requested then approval, and the register
entry. The answers carry hostile text (``<script>``, ``<!channel>``) and non-ASCII (curly
quotes, £, é) so every format is checked against both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import Actor, Platform
from bot.policy import PolicyPack, load_default_pack
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import cases, events, presences

REFERENCE = "SC-2026-0001"
HOSTILE = "<script>alert(1)</script> <!channel>"
APPLICANT = Actor(Platform.SLACK, "U0APPLY", "Zoë Brontë", "zoe@example.org")
MANAGER = Actor(Platform.SLACK, "U0MANAGER", "Seán O’Brien", "sean@example.org")
BOARD = Actor(Platform.SLACK, "U0BOARD", "Chloé “Head of Comms” Dubois", "chloe@example.org")
VERSION_1: dict[str, Any] = {
    "check_business_need": "yes",
    "check_cost_effective": "no",
    "name": APPLICANT.display_name,
    "directorate": "Finance & Café Services",
    "email": "zoe@example.org",
    "line_manager": [MANAGER.user_id],
    "social_media": "Facebook",
    "purpose": f"To reach trainees {HOSTILE} with “quotes” and a £100 budget",
    "risks": "Trolls",
    "declaration": True,
}
VERSION_2 = {**VERSION_1, "check_cost_effective": "yes", "risks": "Trolls; résumé spam"}
REQUEST_COMMENTS = f"Please cost it properly {HOSTILE}"
APPROVE_COMMENTS = "Approved — “well argued”, £0 extra"
SITE = "facebook.com/zoe-café"


@dataclass(frozen=True)
class Seeded:
    """What the fixture stored, for the tests to look for."""

    url: str
    case_id: str
    pack: PolicyPack


@pytest.fixture
async def seeded(tmp_path) -> AsyncIterator[Seeded]:
    """A migrated SQLite database in ``tmp_path`` with the business case in it."""
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    await migrate.upgrade(url)
    engine = create_engine(url)
    try:
        case_id = await _seed(session_factory(engine))
    finally:
        await engine.dispose()
    yield Seeded(url=url, case_id=case_id, pack=load_default_pack())


async def _seed(db: async_sessionmaker[AsyncSession]) -> str:
    async with db.begin() as s:
        case = await cases.create(
            session=s,
            kind="business_case",
            reference=REFERENCE,
            state="awaiting_support",
            reporter=APPLICANT,
            data=VERSION_1,
        )
        await cases.add_version(
            session=s, case_id=case.id, data=VERSION_1, created_by=APPLICANT.key
        )
        await _event(
            s, case.id, APPLICANT, "submitted", None, "awaiting_support", reference=REFERENCE
        )
        statement = "I am aware of and support this application"
        await _event(
            s, case.id, MANAGER, "support", "awaiting_support", "under_review", statement=statement
        )
        await _event(
            s,
            case.id,
            BOARD,
            "request_changes",
            "under_review",
            "changes_requested",
            comments=REQUEST_COMMENTS,
        )
        await cases.add_version(
            session=s, case_id=case.id, data=VERSION_2, created_by=APPLICANT.key
        )
        await _event(s, case.id, APPLICANT, "resubmit", "changes_requested", "under_review")
        await _event(
            s,
            case.id,
            BOARD,
            "approve",
            "under_review",
            "approved",
            comments=APPROVE_COMMENTS,
            name_or_url=SITE,
        )
        await events.append(
            session=s,
            case_id=case.id,
            actor_key="bot",
            actor_name="",
            event="note",
            from_state=None,
            to_state=None,
            detail={"note": "cards sent"},
            internal=True,
        )
        assert await cases.update(
            session=s, case_id=case.id, expected_version=1, state="approved", data=VERSION_2
        )
        approved = datetime(2026, 3, 4, 14, 5, tzinfo=UTC)
        await presences.add(
            session=s,
            case_id=case.id,
            platform="Facebook",
            name_or_url=SITE,
            owner=APPLICANT,
            approved_by=BOARD.key,
            approved_at=approved,
            review_at=approved + timedelta(days=730),
        )
        return case.id


async def _event(
    s: AsyncSession,
    case_id: str,
    actor: Actor,
    event: str,
    was: str | None,
    now: str,
    **detail: Any,
) -> None:
    await events.append(
        session=s,
        case_id=case_id,
        actor_key=actor.key,
        actor_name=actor.display_name,
        event=event,
        from_state=was,
        to_state=now,
        detail=detail,
    )
