"""A one-line progress bar on standard error, drawn only when a person is watching.

When standard error is not a terminal (a pipe, a log file, cron) nothing is written, so
logs stay clean. Redraws are limited to a few a second.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
INTERVAL = 0.1


class Progress:
    """Counts done out of ``total`` and draws ``[#####.....]  1234/20000  6%``.

    Args:
        total: how many to expect (0 when unknown).
        label: a word in front of the bar.
        stream: where to draw; standard error by default.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = total, label, 0
        self._stream = stream if stream is not None else sys.stderr
        self._shown = _is_terminal(self._stream)
        self._last = 0.0

    def advance(self, step: int = 1) -> None:
        """Count ``step`` more as done, redrawing at most every :data:`INTERVAL` seconds."""
        self.done += step
        now = time.monotonic()
        if self._shown and now - self._last >= INTERVAL:
            self._last = now
            self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self._shown:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0) if self.total else 0.0
        bar = "#" * int(share * WIDTH)
        self._stream.write(
            f"\r{self.label} [{bar:.<{WIDTH}}] {self.done}/{self.total} {share:4.0%}"
        )
        self._stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
