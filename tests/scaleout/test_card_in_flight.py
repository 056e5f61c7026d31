"""A triage card one replica is still posting is not posted a second time by the other.

Both Slack and Teams triage channels are bound. Slack is slow to answer the post of the new
report's card, so the replica delivering it waits; meanwhile a manager acknowledges on the
Teams card, which queues a new rendering of the Slack card too. The other replica's
delivery loop is free. Before the fix it took that rendering, found no Slack card recorded
yet and posted a second one; now it leaves it until the first post is recorded, then
updates that card in place.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import PostedCard
from tests.e2e.teams_support import ADMIN as TEAMS_ADMIN
from tests.e2e.teams_support import MANAGER as TEAMS_MANAGER
from tests.e2e.teams_support import TRIAGE_CHANNEL as TEAMS_TRIAGE
from tests.e2e.teams_support import TeamsWire, eventually, shows
from tests.e2e.test_slack_triage import buttons
from tests.e2e.test_teams_scenario import press_in_channel, updated_in_place
from tests.reliability.wire import Site, slack_report
from tests.scaleout.conftest import ADMIN, TRIAGE_CHANNEL
from tests.scaleout.replicas import running_replicas
from tests.scaleout.wire import bind_triage, duplicates, outbox_settled
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import FakeSlack, _body


@dataclass
class SlowSlack(FakeSlack):
    """The fake Slack Web API, answering posts to some channels only when released."""

    slow_channels: set[str] = field(default_factory=set)
    waiting: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "chat.postMessage" and (await _body(request)).get("channel") in (
            self.slow_channels
        ):
            self.waiting += 1
            await self.released.wait()
        return await super()._api(request)


@pytest.fixture
async def slow_slack() -> AsyncIterator[SlowSlack]:
    fake = SlowSlack()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    fake.released.set()
    await fake.server.close()


async def test_a_card_being_posted_by_one_replica_is_not_posted_again_by_the_other(
    fresh_postgres_url: str,
    slow_slack: SlowSlack,
    fake_connector: FakeConnector,
    pack_file: Path,
    tmp_path: Path,
    db: async_sessionmaker[AsyncSession],
    figures: Callable[..., None],
) -> None:
    async with running_replicas(
        2, database_url=fresh_postgres_url, fake_slack=slow_slack, pack=pack_file, workdir=tmp_path
    ) as replicas:
        wire = TeamsWire(replicas[0], fake_connector)  # type: ignore[arg-type]
        await bind_triage(replicas[0], ADMIN, TRIAGE_CHANNEL)
        bound = await wire.say(
            TEAMS_ADMIN, "<at>Staff Safety</at> bind abuse-triage", conversation=TEAMS_TRIAGE
        )
        assert "Done" in shows(bound)
        slow_slack.slow_channels.add(TRIAGE_CHANNEL)
        await slack_report(Site(replicas[1], db), slow_slack, 1, Counter())
        await eventually(lambda: slow_slack.waiting, within=30)  # a replica is posting it
        [posted] = await eventually(
            lambda: [
                s for s in fake_connector.to_conversation(TEAMS_TRIAGE) if s.operation == "send"
            ],
            within=30,
        )
        assert posted.card is not None
        refreshed = await press_in_channel(wire, TEAMS_MANAGER, posted.card, "Acknowledge")
        await updated_in_place(wire, posted.activity_id, refreshed)  # the other loop is free
        await asyncio.sleep(1.0)  # five of its passes: time to take the Slack rendering too
        slow_slack.released.set()
        await outbox_settled(db)
        await asyncio.sleep(1.0)

        async with db() as s:
            [card_ts] = (
                await s.scalars(select(PostedCard.message_id).where(PostedCard.platform == "slack"))
            ).all()

    assert [replica.errors() for replica in replicas] == [[], []]
    posts = [
        c for c in slow_slack.called("chat.postMessage") if c.body["channel"] == TRIAGE_CHANNEL
    ]
    updates = [c for c in slow_slack.called("chat.update") if c.body["channel"] == TRIAGE_CHANNEL]
    figures(
        slack_cards_posted=len(posts),
        updated_in_place=len(updates),
        duplicates=len(posts) - 1 + duplicates(slow_slack.calls),
    )
    assert len(posts) == 1, "one Slack card for the report"
    [update] = updates
    assert update.body["ts"] == card_ts, "in place, on the card that was posted"
    assert "Acknowledge" in buttons(posts[0].body["blocks"])
    assert "Acknowledge" not in buttons(update.body["blocks"]), "then updated to acknowledged"
