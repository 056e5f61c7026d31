"""Where a case's hash chain first breaks, and how: the pure half of ``audit verify``.

Each timeline event carries the hash of the one before it and its own hash over that plus
its contents (:func:`bot.storage.repos.events.event_hash`); the case row keeps the head, the
number and hash of the last event. Walking the events in order, the first of these that
fails names what happened:

* a number missing from the sequence: that event was **removed**;
* an event whose hash does not match its contents: it was **altered**;
* an event whose own hash holds but whose link does not match the event before: the event
  before was altered and hashed again (or swapped for another), so that one is named;
* the timeline ending before the head: events were **removed from the end**;
* events beyond the head, or a last event that is not the head: events were **added** or
  the last one was **replaced** outside the bot.

No I/O here: :mod:`bot.records.audit` reads the rows and prints the findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.storage.repos.events import GENESIS_HASH, ChainHead, EventRow, rehash

WHOLE_CASE = 0  # the ``seq`` of a break that is a whole case gone, not one of its events


@dataclass(frozen=True)
class Break:
    """The first problem in one case's chain.

    Attributes:
        reference: the case's reference.
        seq: the number of the event named (the missing one, for a removal), or
            ``WHOLE_CASE``.
        event_id: that event's row id, or ``None`` when it is gone.
        what: ``"altered"``, ``"removed"`` or ``"added"``.
        why: one sentence an auditor can check by hand.
    """

    reference: str
    seq: int
    event_id: int | None
    what: str
    why: str

    @property
    def where(self) -> str:
        """``event 3 (id 17)``, ``event 4`` when it is gone, or ``the whole case``."""
        if self.seq == WHOLE_CASE:
            return "the whole case"
        row = f" (id {self.event_id})" if self.event_id is not None else ""
        return f"event {self.seq}{row}"

    def line(self) -> str:
        """``AB-2026-0042: event 3 (id 17) altered: …`` as ``audit verify`` prints it."""
        return f"{self.reference}: {self.where} {self.what}: {self.why}"


def recomputed(row: EventRow) -> str:
    """The hash the event's stored contents and stored link should have."""
    return rehash(row)


def first_break(head: ChainHead, events: Iterable[EventRow]) -> Break | None:
    """The first place the case's chain is broken, or ``None`` when it is intact.

    Args:
        head: the case and the chain head its row records.
        events: the case's events in ``seq`` order, internal ones included.
    """
    prev_hash, previous = GENESIS_HASH, None
    for row in events:
        expected = previous.seq + 1 if previous else 1
        problem = _event_break(head, row, expected, prev_hash, previous)
        if problem is not None:
            return problem
        prev_hash, previous = row.hash, row
    return _end_break(head, previous)


def _event_break(
    head: ChainHead, row: EventRow, expected: int, prev_hash: str, previous: EventRow | None
) -> Break | None:
    ref = head.reference
    if row.seq > expected:
        after = f"event {previous.seq}" if previous else "the start"
        why = f"the timeline jumps from {after} to event {row.seq} (id {row.id})"
        return Break(ref, expected, None, "removed", why)
    if row.seq > head.seq:
        why = f"it lies beyond the chain head the case records (event {head.seq})"
        return Break(ref, row.seq, row.id, "added", why)
    if recomputed(row) != row.hash:
        return Break(ref, row.seq, row.id, "altered", "its contents no longer match its hash")
    if row.prev_hash == prev_hash:
        return None
    if previous is None:
        return Break(ref, row.seq, row.id, "altered", "it does not start a chain")
    why = f"event {row.seq} (id {row.id}) links to a different hash: it was changed and re-hashed"
    return Break(ref, previous.seq, previous.id, "altered", why)


def _end_break(head: ChainHead, last: EventRow | None) -> Break | None:
    last_seq = last.seq if last else 0
    if last_seq < head.seq:
        ends = f"ends at event {last_seq}" if last else "is empty"
        why = f"the case records {head.seq} events but its timeline {ends}"
        return Break(head.reference, last_seq + 1, None, "removed", why)
    if last is not None and last.hash != head.hash:
        why = "it is not the last event the case recorded (the chain head differs)"
        return Break(head.reference, last.seq, last.id, "altered", why)
    return None
