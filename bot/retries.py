"""How long the delivery loop waits before it tries a message again.

The platform's word comes first: a ``Retry-After`` (Slack's 429s, the Bot Framework's) is
waited out exactly. Otherwise the wait doubles with each failed attempt, from
``BASE_DELAY`` up to ``MAX_DELAY``, with jitter so that the retries of many messages that
failed together (an outage) do not all arrive at the platform at the same moment.
"""

from __future__ import annotations

import random

BASE_DELAY = 1.0
MAX_DELAY = 300.0


def backoff(
    attempts: int,
    retry_after: float | None = None,
    *,
    base: float = BASE_DELAY,
    ceiling: float = MAX_DELAY,
) -> float:
    """Seconds to wait before attempt ``attempts + 1``: the platform's word, else exponential.

    Jitter spreads retries of many rows so they do not arrive at the platform together.
    """
    if retry_after is not None:
        return max(float(retry_after), 0.0)
    delay = min(ceiling, base * (2 ** max(attempts - 1, 0)))
    return delay * (0.5 + random.random() / 2)
