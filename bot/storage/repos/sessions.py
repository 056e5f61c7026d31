"""Flow sessions: a person's draft of a flow, saved after every step.

Keeping drafts in the database (not in memory or in a Slack modal) is what lets a person
pick up where they left off, on any replica, after a restart. A partial unique index allows
only one *open* session per person and flow; :func:`create` turns a clash into
:class:`OpenSessionExists`. Saves carry a version so a double-submitted step cannot
overwrite a newer answer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.repos._common import (
    dialect_insert,
    dialect_of,
    new_id,
    new_values,
    set_from_parameters,
    to_row,
)
from bot.storage.tables import FlowSession
from bot.storage.types import utcnow

OPEN = "open"
SUBMITTED = "submitted"
DISCARDED = "discarded"
STATUSES = frozenset({OPEN, SUBMITTED, DISCARDED})

_TABLE = cast(Table, FlowSession.__table__)
# ``status = 'open'`` spelt as a literal, not a bound parameter: only then can SQLite (and
# PostgreSQL's generic plans) use the partial index ``uq_flow_sessions_open``, which holds
# just the open drafts. With ``status = ?`` every look-up scanned every draft ever made.
_IS_OPEN = _TABLE.c.status == literal_column(f"'{OPEN}'")
# The person's open draft: built once, run with the person's values (a command's hot path).
_OPEN_DRAFT = select(_TABLE).where(
    _TABLE.c.platform == bindparam("platform"),
    _TABLE.c.user_id == bindparam("user_id"),
    _TABLE.c.flow == bindparam("flow"),
    _IS_OPEN,
)
_OPEN_DRAFTS_OF = (
    select(_TABLE)
    .where(_TABLE.c.platform == bindparam("platform"), _TABLE.c.user_id == bindparam("user_id"))
    .where(_IS_OPEN)
    .order_by(_TABLE.c.updated_at.desc())
)
_BY_ID = select(_TABLE).where(_TABLE.c.id == bindparam("id"))
# Every page a person answers saves the draft: a versioned UPDATE on the table, built once.
_SAVE = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("draft_id"),
        _TABLE.c.version == bindparam("expected_version"),
        _IS_OPEN,
    )
    .values(
        **set_from_parameters(_TABLE, ("step", "answers", "history")),
        version=_TABLE.c.version + 1,
        updated_at=bindparam("now", type_=_TABLE.c.updated_at.type),
    )
)


class OpenSessionExists(Exception):
    """The person already has an open draft of this flow."""


@dataclass(frozen=True, slots=True)
class FlowSessionRow:
    """A draft: the current ``step``, the ``answers`` so far and the steps visited."""

    id: str
    platform: str
    user_id: str
    flow: str
    step: str
    answers: dict[str, Any]
    history: list[Any]
    status: str
    case_id: str | None
    version: int
    view_ref: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


async def get(*, session: AsyncSession, session_id: str) -> FlowSessionRow | None:
    """The flow session with this id, whatever its status, or ``None``."""
    row = (await session.execute(_BY_ID, {"id": session_id})).first()
    return to_row(FlowSessionRow, row) if row else None


async def get_open(
    *, session: AsyncSession, platform: str, user_id: str, flow: str
) -> FlowSessionRow | None:
    """The person's open draft of ``flow``, or ``None``."""
    values = {"platform": platform, "user_id": user_id, "flow": flow}
    row = (await session.execute(_OPEN_DRAFT, values)).first()
    return to_row(FlowSessionRow, row) if row else None


async def list_open(*, session: AsyncSession, platform: str, user_id: str) -> list[FlowSessionRow]:
    """All of a person's open drafts, most recently touched first (for "resume")."""
    rows = await session.execute(_OPEN_DRAFTS_OF, {"platform": platform, "user_id": user_id})
    return [to_row(FlowSessionRow, row) for row in rows]


async def create(
    *,
    session: AsyncSession,
    platform: str,
    user_id: str,
    flow: str,
    step: str,
    answers: dict[str, Any] | None = None,
    history: list[Any] | None = None,
    case_id: str | None = None,
    view_ref: dict[str, Any] | None = None,
) -> FlowSessionRow:
    """Open a new draft at version 1.

    Args:
        case_id: set when the draft edits an already submitted case.

    Raises:
        OpenSessionExists: the person already has an open draft of ``flow``. The insert
            skips a clash (``ON CONFLICT DO NOTHING``) rather than failing, so the caller's
            transaction stays usable.
    """
    now = utcnow()
    row = FlowSessionRow(
        id=new_id(),
        platform=platform,
        user_id=user_id,
        flow=flow,
        step=step,
        answers=answers or {},
        history=history or [],
        status=OPEN,
        case_id=case_id,
        version=1,
        view_ref=view_ref,
        created_at=now,
        updated_at=now,
    )
    values = {name: getattr(row, name) for name in _FIELDS}
    inserted = (await session.execute(_new_draft_statement(dialect_of(session)), values)).scalar()
    if inserted is None:
        raise OpenSessionExists(f"{platform}:{user_id} already has an open {flow!r}")
    return row


_FIELDS = tuple(field.name for field in fields(FlowSessionRow))


@functools.cache
def _new_draft_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id``, built once per dialect.

    The only clash possible is the partial unique index of open drafts (ids are random), and
    both backends skip a clash with any unique index when no conflict target is named.
    """
    statement = dialect_insert(dialect, FlowSession).on_conflict_do_nothing()
    return statement.returning(_TABLE.c.id)


async def save(
    *,
    session: AsyncSession,
    session_id: str,
    step: str,
    answers: dict[str, Any],
    history: list[Any],
    expected_version: int,
) -> bool:
    """Store the draft's progress if it is still open and at ``expected_version``.

    Returns:
        True if saved (the version is now ``expected_version + 1``); False if someone saved
        first or the draft is no longer open.
    """
    parameters = {
        "draft_id": session_id,
        "expected_version": expected_version,
        "now": utcnow(),
        **new_values({"step": step, "answers": answers, "history": history}),
    }
    result = await session.execute(_SAVE, parameters)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def set_status(
    *, session: AsyncSession, session_id: str, status: str, case_id: str | None = None
) -> bool:
    """Close an open draft as ``"submitted"`` (optionally linking the case) or ``"discarded"``.

    Returns:
        True if the draft was open and is now closed; False otherwise (closing twice is safe).
    """
    if status not in STATUSES - {OPEN}:
        raise ValueError(f"cannot set a flow session to {status!r}")
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if case_id is not None:
        values["case_id"] = case_id
    statement = (
        update(FlowSession)
        .where(FlowSession.id == session_id, FlowSession.status == OPEN)
        .values(**values, version=FlowSession.version + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
