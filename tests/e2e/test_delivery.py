"""The outbox delivery loop over real HTTP to the fake Slack API and fake connector."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cards import Card, Text, to_json
from bot.delivery import DeliveryLoop
from bot.handlers.slack.messenger import SlackMessenger
from bot.handlers.teams.auth import build_authentication
from bot.handlers.teams.messenger import TeamsMessenger
from bot.model import Actor, ConversationRef, Platform
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import cards as posted
from bot.storage.repos import cases, outbox
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import BOT_TOKEN, FakeSlack


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(sqlite_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def loop(
    db: async_sessionmaker[AsyncSession],
    fake_slack: FakeSlack,
    fake_connector: FakeConnector,
    clock: Clock,
) -> DeliveryLoop:
    slack = SlackMessenger(AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url))
    teams = TeamsMessenger(build_authentication(app_id="", password="", tenant_id=""), app_id="")
    return DeliveryLoop(
        db=db, messengers={Platform.SLACK: slack, Platform.TEAMS: teams}, clock=clock
    )


async def a_case(db: async_sessionmaker[AsyncSession]) -> str:
    async with db.begin() as s:
        row = await cases.create(
            session=s,
            kind="abuse_report",
            reference="AB-2026-0001",
            state="new",
            reporter=Actor(Platform.SLACK, "U1"),
            data={},
        )
    return row.id


async def queue(
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    target: dict[str, Any],
    text: str,
    platform: str = "slack",
    operation: str = "post",
    case_id: str | None = None,
    purpose: str | None = None,
) -> None:
    async with db.begin() as s:
        await outbox.enqueue(
            session=s,
            platform=platform,
            operation=operation,
            target=target,
            card=to_json(Card(title="Triage", elements=(Text(text),))),
            case_id=case_id,
            card_purpose=purpose,
            not_before=clock(),
        )


SLACK_CHANNEL = ConversationRef(Platform.SLACK, conversation_id="C0TRIAGE").to_json()


async def test_a_case_card_is_posted_once_then_updated_in_place(
    db: async_sessionmaker[AsyncSession], loop: DeliveryLoop, fake_slack: FakeSlack, clock: Clock
) -> None:
    case_id = await a_case(db)
    await queue(db, clock, target=SLACK_CHANNEL, text="new", case_id=case_id, purpose="triage")
    assert await loop.run_once() == 1
    await queue(
        db, clock, target=SLACK_CHANNEL, text="acknowledged", case_id=case_id, purpose="triage"
    )
    assert await loop.run_once() == 1
    [post] = fake_slack.called("chat.postMessage")
    [update] = fake_slack.called("chat.update")
    assert post.body["channel"] == "C0TRIAGE"
    assert "acknowledged" in str(update.body["blocks"])
    async with db() as s:
        [card] = await posted.list_posted(session=s, case_id=case_id, purpose="triage")
    assert card.message_id == update.body["ts"]


async def test_only_the_newest_of_several_due_updates_is_sent(
    db: async_sessionmaker[AsyncSession], loop: DeliveryLoop, fake_slack: FakeSlack, clock: Clock
) -> None:
    case_id = await a_case(db)
    for state in ("new", "acknowledged", "escalated"):
        await queue(db, clock, target=SLACK_CHANNEL, text=state, case_id=case_id, purpose="triage")
    assert await loop.run_once() == 3
    [post] = fake_slack.called("chat.postMessage")
    assert "escalated" in str(post.body["blocks"])
    async with db() as s:
        assert await outbox.pending_count(session=s) == 0


async def test_retry_after_is_honoured(
    db: async_sessionmaker[AsyncSession], loop: DeliveryLoop, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=7)
    await queue(db, clock, target=SLACK_CHANNEL, text="hello")
    assert await loop.run_once() == 1
    assert await loop.run_once() == 0, "not due again before Retry-After"
    clock.advance(6.5)
    assert await loop.run_once() == 0
    clock.advance(1)
    assert await loop.run_once() == 1
    assert len(fake_slack.called("chat.postMessage")) == 2
    assert loop.delivered == 1


async def test_server_errors_are_retried_with_back_off(
    db: async_sessionmaker[AsyncSession], loop: DeliveryLoop, fake_slack: FakeSlack, clock: Clock
) -> None:
    fake_slack.fail("chat.postMessage", status=500, times=2)
    await queue(db, clock, target=SLACK_CHANNEL, text="hello")
    for _ in range(10):
        await loop.run_once()
        clock.advance(30)
    assert len(fake_slack.called("chat.postMessage")) == 3
    assert loop.delivered == 1


async def test_slack_direct_message_opens_the_conversation(
    db: async_sessionmaker[AsyncSession], loop: DeliveryLoop, fake_slack: FakeSlack, clock: Clock
) -> None:
    person = ConversationRef(Platform.SLACK, user_id="U0MANAGER").to_json()
    await queue(db, clock, target=person, text="A report needs you", operation="dm")
    assert await loop.run_once() == 1
    [opened] = fake_slack.called("conversations.open")
    assert opened.body["users"] == "U0MANAGER"
    [post] = fake_slack.called("chat.postMessage")
    assert post.body["channel"] == "DU0MANAGER"


async def test_teams_card_is_posted_then_updated_on_the_connector(
    db: async_sessionmaker[AsyncSession],
    loop: DeliveryLoop,
    fake_connector: FakeConnector,
    clock: Clock,
) -> None:
    case_id = await a_case(db)
    channel = ConversationRef(
        Platform.TEAMS,
        conversation_id="19:triage@thread.tacv2",
        service_url=fake_connector.service_url,
    ).to_json()
    await queue(
        db, clock, target=channel, text="new", platform="teams", case_id=case_id, purpose="triage"
    )
    await loop.run_once()
    await queue(
        db,
        clock,
        target=channel,
        text="closed",
        platform="teams",
        case_id=case_id,
        purpose="triage",
    )
    await loop.run_once()
    send, update = fake_connector.to_conversation("19:triage@thread.tacv2")
    assert (send.operation, update.operation) == ("send", "update")
    assert update.activity_id == send.activity_id
    assert update.card is not None and "closed" in str(update.card)


async def test_teams_429_is_retried_after_its_delay(
    db: async_sessionmaker[AsyncSession],
    loop: DeliveryLoop,
    fake_connector: FakeConnector,
    clock: Clock,
) -> None:
    fake_connector.fail_next(429, retry_after=3)
    channel = ConversationRef(
        Platform.TEAMS, conversation_id="19:c@thread.tacv2", service_url=fake_connector.service_url
    ).to_json()
    await queue(db, clock, target=channel, text="hello", platform="teams")
    await loop.run_once()
    assert fake_connector.sent == []
    clock.advance(3)
    await loop.run_once()
    assert len(fake_connector.sent) == 1


async def test_an_older_card_retried_late_does_not_overwrite_a_newer_one(
    db: async_sessionmaker[AsyncSession], loop: DeliveryLoop, fake_slack: FakeSlack, clock: Clock
) -> None:
    case_id = await a_case(db)
    await queue(db, clock, target=SLACK_CHANNEL, text="new", case_id=case_id, purpose="triage")
    await loop.run_once()
    fake_slack.fail("chat.update", status=500)
    await queue(
        db, clock, target=SLACK_CHANNEL, text="acknowledged", case_id=case_id, purpose="triage"
    )
    await loop.run_once()  # fails: retried later
    await queue(
        db, clock, target=SLACK_CHANNEL, text="escalated", case_id=case_id, purpose="triage"
    )
    clock.advance(600)
    for _ in range(3):
        await loop.run_once()
    updates = fake_slack.called("chat.update")
    assert "escalated" in str(updates[-1].body["blocks"])
    assert not any("acknowledged" in str(u.body["blocks"]) for u in updates[1:])
