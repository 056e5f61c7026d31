"""What the evidence pack's maker and its checker share: member names, times, the timeline.

``timeline.json`` carries each event exactly as it was hashed (``at`` in UTC ISO 8601), so
anyone can recompute the chain from the file alone with :func:`chain_intact`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.storage.repos.events import EventRow, event_hash, verify_chain

MANIFEST = "manifest.json"
HASH_RECIPE = (
    "hash = SHA-256 (hex) of prev_hash followed by the canonical JSON (keys sorted, no "
    "spaces, UTF-8, non-ASCII kept) of case_id, seq, at, actor_key, actor_name, event, "
    "from_state, to_state, detail and internal; the first prev_hash is 64 zeros"
)
HASHED = (
    "case_id",
    "seq",
    "actor_key",
    "actor_name",
    "event",
    "from_state",
    "to_state",
    "detail",
    "internal",
)


def member_info(name: str, at: datetime) -> zipfile.ZipInfo:
    """A zip entry stamped with ``at`` (UTC; zip times cannot be before 1980)."""
    moment = max(at.astimezone(UTC), datetime(1980, 1, 1, tzinfo=UTC))
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def timeline_json(reference: str, timeline: Sequence[EventRow]) -> dict[str, Any]:
    """The case's timeline, every event with both hashes, and whether the chain holds."""
    return {
        "reference": reference,
        "verified": verify_chain(timeline),
        "hash_recipe": HASH_RECIPE,
        "events": [
            {
                **{key: getattr(row, key) for key in HASHED},
                "at": row.at.isoformat(),
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            }
            for row in timeline
        ],
    }


def chain_intact(events: Sequence[dict[str, Any]]) -> bool:
    """Recompute the hash chain of ``timeline.json``'s events; True if every link holds."""
    previous = "0" * 64
    for expected, item in enumerate(events, start=1):
        try:
            fields = {key: item[key] for key in HASHED}
            recomputed = event_hash(
                prev_hash=previous, at=datetime.fromisoformat(item["at"]), **fields
            )
        except (KeyError, TypeError, ValueError):
            return False
        if item.get("seq") != expected or item.get("prev_hash") != previous:
            return False
        if item.get("hash") != recomputed:
            return False
        previous = recomputed
    return True
