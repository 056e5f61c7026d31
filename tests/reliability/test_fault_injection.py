"""Outbox delivery under a hostile platform (issue 6, "Faults: nothing lost, nothing doubled").

The real bot is served on loopback; reports are submitted and triage buttons pressed through
signed Slack requests and Bot Framework activities, half on each platform. Meanwhile the
fake Slack Web API and the fake connector fail 30% of the calls that deliver messages, at
random (seeded): a 500, a 429 with a ``Retry-After``, a request held past the bot's client
timeout, or a connection closed with no answer, always before the message is accepted.

When the outbox has drained, every row the database queued must have been accepted by its
platform exactly once (0 lost, 0 duplicated), every triage card's last rendering must show
its case's final state, and no delivery may have been retried sooner than a 429 asked.
The default run is a fifth of the size; the full 500 reports and 1,000 presses run under
the ``long`` marker, which ``make test`` runs too.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.model import Platform
from tests.e2e.teams_support import TeamsWire
from tests.reliability.conftest import Figures
from tests.reliability.ledger import (
    Verdict,
    delivery_calls,
    describe,
    drained,
    judge,
    window,
)
from tests.reliability.wire import (
    PRESSES_PER_SCRIPT,
    SCRIPTS,
    Presser,
    Site,
    bind_triage_channels,
    pack_for,
    run_script,
    slack_report,
    teams_report,
)
from tests.support.bot_fixtures import make_settings, serve_bot
from tests.support.chaos import Chaos
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.slack_signing import SIGNING_SECRET

CLIENT_TIMEOUT = 2.0  # the bot's HTTP timeout towards both platforms in this test
AT_ONCE = 4  # cases being reported and pressed at the same time
RETRY_BASE = 0.2  # seconds before a first retry (1 s in production); Retry-After still rules
RETRY_CEILING = 4.0  # the longest back-off (300 s in production), so the run ends in time


class QuietWire(TeamsWire):
    """The Teams wire without the schema check of every card (the e2e suites do that)."""

    def keep(self, card: dict[str, object]) -> dict[str, object]:
        return card


async def attack(
    bot: Site, fake_slack: FakeSlack, teams: TeamsWire, reports: int, tally: Counter[str]
) -> dict[str, int]:
    """Report ``reports`` cases, half on each platform, and press through each one's script."""
    gate = asyncio.Semaphore(AT_ONCE)
    counts = {"reports": 0, "presses": 0}

    async def one(number: int) -> None:
        platform = "slack" if number % 2 == 0 else "teams"
        async with gate:
            if platform == "slack":
                reference, _ = await slack_report(bot, fake_slack, number, tally)
            else:
                reference = await teams_report(teams, number)
            counts["reports"] += 1
            presser = Presser(bot, fake_slack, teams, platform, number, tally)
            script = SCRIPTS[(number // 2) % len(SCRIPTS)]
            made = await run_script(presser, reference, script)
            counts["presses"] += made

    await asyncio.gather(*(one(n) for n in range(reports)))
    return counts


async def run_under_chaos(
    reports: int,
    *,
    sqlite_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_connector: FakeConnector,
    figures: Figures,
) -> Verdict:
    fake_slack.chaos = Chaos(seed=61, hold_seconds=CLIENT_TIMEOUT + 1)
    fake_connector.chaos = Chaos(seed=62, hold_seconds=CLIENT_TIMEOUT + 1)
    settings = make_settings(
        DATABASE_URL=sqlite_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        BOT_FILE_STORE=str(tmp_path / "files"),
        TEAMS_APP_ID="",
    )
    client = AsyncWebClient(
        token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=int(CLIENT_TIMEOUT)
    )
    started = time.monotonic()
    async with serve_bot(settings, pack_for(reports), slack_client=client) as bot:
        bot.delivery.messengers[Platform.TEAMS].timeout = CLIENT_TIMEOUT
        bot.delivery.base_delay, bot.delivery.max_delay = RETRY_BASE, RETRY_CEILING
        site = Site(bot, bot.core.db)
        teams = QuietWire(site, fake_connector)  # type: ignore[arg-type]  # a Site will do
        await bind_triage_channels(site, teams)
        tally: Counter[str] = Counter()
        counts = await attack(site, fake_slack, teams, reports, tally)
        attacked = time.monotonic()
        await drained(bot.core.db, within=120)
        drain = time.monotonic() - attacked
        verdict = await judge(bot.core.db, fake_slack, fake_connector)
    early = fake_slack.log.early_retries() + fake_connector.log.early_retries()
    limits = fake_slack.log.rate_limits + fake_connector.log.rate_limits
    injected = fake_slack.chaos.injected + fake_connector.chaos.injected
    figures(
        f"fault injection ({reports} reports)",
        {
            "operations attempted": f"{counts['reports']} reports + {counts['presses']} presses",
            "delivery calls": delivery_calls(fake_slack, fake_connector),
            "faults injected": sum(injected.values()),
            "by kind": dict(sorted((str(kind), n) for kind, n in injected.items())),
            "429s checked": len(limits),
            "retried before Retry-After": len(early),
            "verdict": describe(verdict),
            "accepted until marked sent": window(verdict),
            "seconds": f"{time.monotonic() - started:.0f} ({drain:.0f} draining)",
            **tally,
        },
    )
    assert counts == {"reports": reports, "presses": reports * PRESSES_PER_SCRIPT}
    assert sum(injected.values()) > 0 and all(injected.values())
    assert not verdict.lost, verdict.lost[:10]
    assert not verdict.duplicated, verdict.duplicated
    assert not verdict.stale_cards, verdict.stale_cards[:10]
    assert verdict.cards_checked == 2 * reports, "a triage card per report on each platform"
    assert limits and not early, early[:10]
    return verdict


async def test_nothing_lost_nothing_doubled_under_faults(
    sqlite_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_connector: FakeConnector,
    figures: Figures,
) -> None:
    await run_under_chaos(
        100,
        sqlite_url=sqlite_url,
        tmp_path=tmp_path,
        fake_slack=fake_slack,
        fake_connector=fake_connector,
        figures=figures,
    )


@pytest.mark.long
async def test_500_reports_and_1000_presses_under_faults(
    sqlite_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_connector: FakeConnector,
    figures: Figures,
) -> None:
    await run_under_chaos(
        500,
        sqlite_url=sqlite_url,
        tmp_path=tmp_path,
        fake_slack=fake_slack,
        fake_connector=fake_connector,
        figures=figures,
    )
