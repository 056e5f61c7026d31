"""Seeded random faults for the local fakes of Slack and the Bot Framework connector.

A hostile platform fails a share of the calls the bot makes: a 500, a 429 with a
``Retry-After``, a request held past the bot's client timeout, or a connection closed with
no answer. Every one of these happens *before* the fake accepts the message, so the bot
never sees a failure for a message the platform kept: that case (accepted, then the answer
lost) is the one real double-send window, and the crash tests provoke it on purpose with
``Hold`` instead of leaving it to chance.

The fakes also keep the log the tests judge delivery by: each attempt of each delivery
(keyed by the outbox id the bot sends with it), which were accepted, and every ``Retry-After``
handed out, so a test can check the next attempt came no sooner.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web


class Fault(StrEnum):
    """The kinds of failure a hostile platform gives."""

    SERVER_ERROR = "500"
    RATE_LIMITED = "429"
    TIMEOUT = "timeout"
    RESET = "reset"


@dataclass
class Chaos:
    """Decides, call by call, whether to fail and how.

    Args:
        rate: the share of calls that fail (0.3: three in ten).
        seed: the random generator's seed, so a run's faults can be reproduced.
        hold_seconds: how long a ``TIMEOUT`` holds the request (longer than the bot's
            client timeout in the test).
        retry_after: the range of whole seconds a 429 asks the bot to wait.
        kinds: the faults to draw from, equally likely.
    """

    rate: float = 0.3
    seed: int = 6
    hold_seconds: float = 2.0
    retry_after: tuple[int, int] = (1, 2)
    kinds: tuple[Fault, ...] = tuple(Fault)
    injected: Counter[Fault] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self, *, rate_limit: bool = True) -> Fault | None:
        """The fault for this call, or ``None`` to let it through (and count what failed).

        ``rate_limit=False`` leaves 429 out, for calls whose retry could not be told apart
        from another delivery's (a 429's ``Retry-After`` could not be checked for them).
        """
        if self._random.random() >= self.rate:
            return None
        kinds = [k for k in self.kinds if rate_limit or k is not Fault.RATE_LIMITED]
        fault = self._random.choice(kinds)
        self.injected[fault] += 1
        return fault

    def retry_after_seconds(self) -> int:
        low, high = self.retry_after
        return self._random.randint(low, high)


@dataclass
class RateLimit:
    """A 429 handed out: for which delivery, when (epoch seconds), and how long to wait."""

    delivery: str
    at: float
    retry_after: float


@dataclass
class DeliveryLog:
    """Every attempt and every accepted delivery, by the delivery id the bot sent."""

    attempts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    accepted: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rate_limits: list[RateLimit] = field(default_factory=list)

    def attempt(self, delivery: str) -> None:
        self.attempts[delivery].append(time.time())

    def accept(self, delivery: str) -> None:
        self.accepted[delivery].append(time.time())

    def limited(self, delivery: str, retry_after: float) -> None:
        self.rate_limits.append(RateLimit(delivery, time.time(), retry_after))

    def early_retries(self) -> list[tuple[RateLimit, float]]:
        """429s whose delivery was tried again before its ``Retry-After`` ran out, with the
        gap actually left (seconds)."""
        early = []
        for limit in self.rate_limits:
            later = [t for t in self.attempts[limit.delivery] if t > limit.at]
            if later and later[0] - limit.at < limit.retry_after:
                early.append((limit, later[0] - limit.at))
        return early

    def duplicates(self) -> dict[str, int]:
        """Deliveries the platform accepted more than once, with how many times."""
        return {key: len(times) for key, times in self.accepted.items() if len(times) > 1}


class Hold:
    """A fault point for crash tests: hold the next matching request, forever.

    ``after_accept=False`` holds it before the fake keeps the message (the bot dies before
    the platform had it); ``True`` keeps the message first and then never answers (the
    platform has it, the bot never learns so). ``reached`` is set when a request is held.
    """

    def __init__(self, *, after_accept: bool) -> None:
        self.after_accept = after_accept
        self.reached = asyncio.Event()
        self._release = asyncio.Event()

    async def wait(self) -> None:
        self.reached.set()
        await self._release.wait()

    def release(self) -> None:
        """Let a held request go (at the end of a test, so the server can close)."""
        self._release.set()


async def injected_response(
    request: web.Request,
    fault: Fault,
    chaos: Chaos,
    rate_limited: web.Response,
) -> web.StreamResponse:
    """Answer ``request`` with ``fault``: nothing was accepted.

    Args:
        rate_limited: the platform's own 429 (Slack and the connector word it differently).
    """
    if fault is Fault.RATE_LIMITED:
        return rate_limited
    if fault is Fault.SERVER_ERROR:
        return web.Response(status=500, text="injected internal error")
    if fault is Fault.TIMEOUT:
        await asyncio.sleep(chaos.hold_seconds)  # the client has given up by now
        return web.Response(status=504, text="injected: held past the client's timeout")
    return reset(request)


def reset(request: web.Request) -> web.Response:
    """Close the connection with no answer (the client sees a disconnect)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)  # never reaches the client: the transport is gone
