"""One case as one plain document: the record kept for the files and for FOI requests.

:func:`build_document` turns the stored rows into a dict of strings, numbers, booleans,
``None``, lists and dicts only, so the JSON export is exactly that dict and the HTML and PDF
renderers never touch the database. Times are ISO 8601 in the organisation's time zone
(with the offset). Nothing is left out: every version with what changed from the one before,
the line manager's support, every decision, the register entry and every timeline event,
internal ones included, with their hashes and whether the hash chain is intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.board_cards import STATE_LABELS
from bot.export.fields import answer_rows, changed, choices_for, labels_for
from bot.policy import PolicyPack
from bot.storage.repos import cases, events, presences
from bot.storage.repos.cases import CaseRow, VersionRow
from bot.storage.repos.events import EventRow, verify_chain
from bot.storage.repos.presences import PresenceRow

FORMAT = "staff-safety-bot case export"
FORMAT_VERSION = 1
KIND_LABELS = {"business_case": "Business case", "abuse_report": "Abuse report"}
DECISIONS = ("approve", "reject", "request_changes")
DECISION_LABELS = {
    "approve": "Approved",
    "reject": "Rejected",
    "request_changes": "Changes requested",
}


async def load_document(
    session: AsyncSession, pack: PolicyPack, reference: str, exported_at: datetime
) -> dict[str, Any] | None:
    """Read a case and everything about it, and build its document.

    Args:
        session: an open database session (only read from).
        pack: the policy pack, for the questions' words and the organisation.
        reference: the case's reference, e.g. ``SC-2026-0001``.
        exported_at: when the export is made (aware).

    Returns:
        The document (see :func:`build_document`), or ``None`` if no case has that reference.
    """
    case = await cases.get_by_reference(session=session, reference=reference)
    if case is None:
        return None
    return build_document(
        pack,
        case,
        versions=await cases.list_versions(session=session, case_id=case.id),
        timeline=await events.timeline(session=session, case_id=case.id),
        presence=await presences.for_case(session=session, case_id=case.id),
        exported_at=exported_at,
    )


def build_document(
    pack: PolicyPack,
    case: CaseRow,
    *,
    versions: Sequence[VersionRow],
    timeline: Sequence[EventRow],
    presence: PresenceRow | None,
    exported_at: datetime,
) -> dict[str, Any]:
    """The whole case as a JSON-safe dict.

    Args:
        pack: the policy pack.
        case: the case row.
        versions: every version of its answers, oldest first.
        timeline: every event, internal ones included, in order.
        presence: its entry on the register of approved sites, if any.
        exported_at: when the export is made (aware).

    Returns:
        A dict with ``document``, ``case``, ``answers`` (of the latest version), ``versions``,
        ``support``, ``decision`` (the latest), ``decisions`` (all), ``register``,
        ``timeline`` and ``timeline_intact``.
    """
    zone = ZoneInfo(pack.organisation.time_zone)

    def when(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None

    names = {case.reporter_key: case.reporter.get("display_name", "")}
    if case.assignee_key and case.assignee:
        names[case.assignee_key] = case.assignee.get("display_name", "")
    names.update({e.actor_key: e.actor_name for e in timeline if e.actor_name})

    def person(key: str | None) -> dict[str, str] | None:
        return {"name": names.get(key, ""), "id": key} if key else None

    labels, choices = labels_for(pack, case.kind), choices_for(pack, case.kind)
    kind_label = KIND_LABELS.get(case.kind, case.kind.replace("_", " ").capitalize())
    latest = versions[-1].data if versions else case.data
    support = next((e for e in reversed(timeline) if e.event == "support"), None)
    decisions = [
        {
            "decision": e.event,
            "label": DECISION_LABELS[e.event],
            "signed": person(e.actor_key),
            "date": when(e.at),
            "comments": str(e.detail.get("comments") or ""),
            "seq": e.seq,
        }
        for e in timeline
        if e.event in DECISIONS
    ]
    return {
        "document": {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "title": f"{kind_label} {case.reference}",
            "organisation": pack.organisation.name,
            "exported_at": when(exported_at),
            "time_zone": pack.organisation.time_zone,
        },
        "case": {
            "reference": case.reference,
            "kind": case.kind,
            "kind_label": kind_label,
            "state": case.state,
            "state_label": STATE_LABELS.get(case.state, case.state.replace("_", " ").capitalize()),
            "urgent": case.urgent,
            "reporter": person(case.reporter_key),
            "reporter_email": str(case.reporter.get("email") or ""),
            "assignee": person(case.assignee_key),
            "created_at": when(case.created_at),
            "updated_at": when(case.updated_at),
            "closed_at": when(case.closed_at),
        },
        "answers": answer_rows(labels, choices, latest),
        "versions": [
            {
                "number": v.number,
                "created_at": when(v.created_at),
                "created_by": person(v.created_by),
                "answers": answer_rows(labels, choices, v.data),
                "changes": changed(pack, case.kind, versions[i - 1].data, v.data) if i else [],
            }
            for i, v in enumerate(versions)
        ],
        "support": {
            "by": person(support.actor_key),
            "at": when(support.at),
            "statement": str(support.detail.get("statement") or ""),
        }
        if support
        else None,
        "decision": decisions[-1] if decisions else None,
        "decisions": decisions,
        "register": _register(presence, person, when),
        "timeline": [
            {
                "seq": e.seq,
                "at": when(e.at),
                "by": {"name": e.actor_name, "id": e.actor_key},
                "event": e.event,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "detail": e.detail,
                "internal": e.internal,
                "hash": e.hash,
            }
            for e in timeline
        ],
        "timeline_intact": verify_chain(timeline),
    }


def _register(
    presence: PresenceRow | None,
    person: Callable[[str | None], dict[str, str] | None],
    when: Callable[[datetime | None], str | None],
) -> dict[str, Any] | None:
    if presence is None:
        return None
    owner = {"name": presence.owner.get("display_name", ""), "id": presence.owner_key}
    return {
        "platform": presence.platform,
        "name_or_url": presence.name_or_url,
        "owner": owner,
        "approved_by": person(presence.approved_by),
        "approved_at": when(presence.approved_at),
        "review_at": when(presence.review_at),
    }
