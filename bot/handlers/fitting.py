"""What both renderers do with a card over a platform's limit: leave some parts out and
put a note where they were.

Buttons and inputs are never among the parts chosen (each renderer knows which of its
elements those are): a decision without its buttons, or a form without its inputs, helps
nobody. What the note says is the renderer's own ("… (N more not shown)").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def leave_out(items: Sequence[T], indexes: set[int], note: T) -> list[T]:
    """``items`` less those at ``indexes``, with ``note`` where the first of them was."""
    first = min(indexes)
    kept = [item for index, item in enumerate(items) if index not in indexes]
    place = sum(1 for index in range(first) if index not in indexes)
    return [*kept[:place], note, *kept[place:]]
