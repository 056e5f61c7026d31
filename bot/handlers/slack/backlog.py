"""Room for work of one kind in hand at once, waited for before the ack.

Slack gives a bot 3 seconds to acknowledge. Under a burst of commands or presses a bot that
acks at once piles up acknowledged work that then times out unseen (a modal whose
``trigger_id`` expired, a press never recorded). A :class:`Backlog` makes a request wait for
room *before* its ack instead, so the burst slows the acks down, and tells the person plainly
only when no room came in time.
"""

from __future__ import annotations

import asyncio

# How long a request may wait for room before its ack, leaving time in Slack's 3 seconds.
ROOM_WAIT_SECONDS = 1.5


class Backlog:
    """Room for work of one kind, at most ``limit`` at once.

    A request waits for room *before* it is acknowledged, so a burst slows the acks down
    (the platform's clients wait) instead of piling up acknowledged work that then times
    out unseen. Only when no room comes within ``ROOM_WAIT_SECONDS`` is the person told.
    """

    def __init__(self, limit: int) -> None:
        self._room = asyncio.Semaphore(limit)

    async def enter(self) -> bool:
        """Take a place; False when none came in time (nothing taken)."""
        if not self._room.locked():  # room now: take it without wait_for's task and timer
            return await self._room.acquire()
        try:
            await asyncio.wait_for(self._room.acquire(), ROOM_WAIT_SECONDS)
        except TimeoutError:
            return False
        return True

    def leave(self) -> None:
        self._room.release()
