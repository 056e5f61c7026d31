"""What one run of the suite is: durations, sizes and the identities the requests carry.

A full run (``make bench``) drives each server three times, eight seconds each, at 32
connections, and seeds 1,000,000 reports; a smoke run (``--smoke``) drives each once for a
second, on a small register.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = ROOT / "data" / "bench"

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test-token"  # the fake Slack serves files only to this token
SLACK_MANAGER = "U0MANAGER"
TEAMS_MANAGER = "0b5c3e55-1111-4222-8333-00000000beef"
SLACK_TRIAGE_CHANNEL = "C0TRIAGE"
TEAMS_TRIAGE_CHANNEL = "19:triage@thread.tacv2"


@dataclass(frozen=True)
class RunConfig:
    """Sizes and durations of one run.

    Args:
        smoke: the short run that ``make test`` does.
        rounds: how many times each server is driven. Each ratio is the median of its
            rounds' ratios, so that a slower minute of a shared machine moves one round,
            not the result.
        duration: seconds each server is driven for, in each round.
        connections: concurrent connections held open by the load driver.
        requests_per_set: distinct requests in each set, and reports seeded for each press
            scenario, so that every press is a legal move.
        register_rows: reports seeded for the register measurements.
        lookups: recurring-sender lookups timed for the p99.
        part_operations: operations timed for each of the bot's parts in each round
            (:mod:`bench.parts`).
        driver: ``"wrk"``, or ``"python"`` (an aiohttp client, for the smoke run only).
    """

    smoke: bool
    rounds: int
    duration: int
    connections: int
    requests_per_set: int
    register_rows: int
    lookups: int
    part_operations: int
    driver: str

    @classmethod
    def full(cls, driver: str) -> RunConfig:
        return cls(
            smoke=False,
            rounds=3,
            duration=8,
            connections=32,
            requests_per_set=40_000,
            register_rows=1_000_000,
            lookups=2_000,
            part_operations=1_000,
            driver=driver,
        )

    @classmethod
    def quick(cls, driver: str) -> RunConfig:
        return cls(
            smoke=True,
            rounds=1,
            duration=1,
            connections=4,
            requests_per_set=3_000,
            register_rows=2_000,
            lookups=200,
            part_operations=50,
            driver=driver,
        )
