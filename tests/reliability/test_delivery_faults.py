"""The faults the hostile-platform run turned up, one at a time, each with the bug it showed.

* Slack's edge answers a 5xx with an HTML page, not JSON: that was an ``AttributeError``
  in the messenger (logged as a bug) instead of a transient ``DeliveryError``.
* The Bot Framework client answers a 5xx page with a ``DeserializationError``, which
  escaped the Teams messenger the same way.
* The connector client's urllib3 policy repeated a card update (a PUT) up to four times on
  a 5xx, a dropped connection or a 429, sleeping the ``Retry-After`` in a worker thread,
  and waited 100 s for an answer: one slow update held every delivery up. (slack-sdk, too,
  repeated a call once after a dropped connection: the loop alone retries now.)
* The delivery loop waited for a whole batch before claiming more, so one platform that
  hung until its timeout held up the other platform's messages.
* A database busy at the moment the platform accepted a message made the loop give up on
  marking it sent, and the message went out again when its lease ran out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from email.utils import format_datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cards import Card, Text
from bot.delivery import LEASE_SECONDS, DeliveryLoop
from bot.handlers.slack.messenger import SlackMessenger
from bot.handlers.teams.auth import build_authentication
from bot.handlers.teams.messenger import TeamsMessenger
from bot.messaging import DeliveryError, retry_after_seconds
from bot.model import ConversationRef, MessageRef, Platform
from bot.storage.engine import SQLITE_BUSY_TIMEOUT_MS
from bot.storage.repos import cards as posted
from bot.storage.repos import outbox
from tests.e2e.test_delivery import SLACK_CHANNEL, Clock, a_case, queue
from tests.e2e.test_delivery import clock as clock  # the fixtures, shared
from tests.e2e.test_delivery import db as db
from tests.reliability.wire import eventually
from tests.support.chaos import Chaos, Fault
from tests.support.fake_connector import FakeConnector, Sent
from tests.support.fake_slack import BOT_TOKEN, FakeSlack

CARD = Card(title="Triage", elements=(Text("A report"),))
SLACK_CHANNEL_REF = ConversationRef(Platform.SLACK, conversation_id="C0TRIAGE")
Sessions = async_sessionmaker[AsyncSession]


def slack_messenger(fake_slack: FakeSlack) -> SlackMessenger:
    return SlackMessenger(AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url))


def teams_messenger(timeout: float = 5.0) -> TeamsMessenger:
    auth = build_authentication(app_id="", password="", tenant_id="")
    return TeamsMessenger(auth, app_id="", timeout=timeout)


def teams_channel(fake_connector: FakeConnector) -> ConversationRef:
    return ConversationRef(
        Platform.TEAMS, conversation_id="19:c@thread.tacv2", service_url=fake_connector.service_url
    )


async def test_a_slack_5xx_page_is_a_transient_delivery_error(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", status=502)
    with pytest.raises(DeliveryError) as failed:
        await slack_messenger(fake_slack).post(SLACK_CHANNEL_REF, CARD)
    assert "502" in str(failed.value) and not failed.value.permanent


async def test_a_slack_call_cut_off_is_tried_once_and_the_loop_decides_when_again(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.chaos = Chaos(rate=1.0, kinds=(Fault.RESET,))
    with pytest.raises(DeliveryError):
        await slack_messenger(fake_slack).post(SLACK_CHANNEL_REF, CARD, delivery_id="outbox-1")
    assert len(fake_slack.called("chat.postMessage")) == 1, "slack-sdk's own retry is off"


async def test_a_connector_5xx_page_is_a_transient_delivery_error(
    fake_connector: FakeConnector,
) -> None:
    fake_connector.chaos = Chaos(rate=1.0, kinds=(Fault.SERVER_ERROR,))  # a text/plain 500
    with pytest.raises(DeliveryError) as failed:
        await teams_messenger().post(teams_channel(fake_connector), CARD, delivery_id="outbox-1")
    assert not failed.value.permanent
    assert fake_connector.attempts["send"] == 1


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RESET, Fault.RATE_LIMITED])
async def test_a_teams_card_update_is_tried_once_and_the_loop_decides_when_again(
    fake_connector: FakeConnector, fault: Fault
) -> None:
    fake_connector.chaos = Chaos(rate=1.0, kinds=(fault,), retry_after=(3, 3))
    message = MessageRef(teams_channel(fake_connector), "activity-1")
    started = time.monotonic()
    with pytest.raises(DeliveryError) as failed:
        await teams_messenger().update(message, CARD, delivery_id="outbox-1")
    assert fake_connector.attempts["update"] == 1, "no hidden retries in the HTTP client"
    assert time.monotonic() - started < 2, "a Retry-After is not slept in a worker thread"
    if fault is Fault.RATE_LIMITED:
        assert failed.value.retry_after == 3


async def test_a_connector_that_never_answers_is_given_up_after_the_timeout(
    fake_connector: FakeConnector,
) -> None:
    hold = fake_connector.hold("send", after_accept=False)
    started = time.monotonic()
    try:
        with pytest.raises(DeliveryError):
            await teams_messenger(timeout=0.5).post(teams_channel(fake_connector), CARD)
        assert time.monotonic() - started < 5, "not the client's 100 s default"
    finally:
        hold.release()


async def test_a_platform_that_hangs_does_not_hold_up_the_other(
    db: Sessions, fake_slack: FakeSlack, fake_connector: FakeConnector
) -> None:
    messengers = {Platform.SLACK: slack_messenger(fake_slack), Platform.TEAMS: teams_messenger()}
    loop = DeliveryLoop(db=db, messengers=messengers)
    now = Clock()
    now.now = dt.datetime.now(dt.UTC)
    hold = fake_slack.hold("chat.postMessage", after_accept=False)
    await queue(db, now, target=SLACK_CHANNEL, text="to Slack, which hangs")
    running = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(hold.reached.wait(), timeout=5)
        channel = teams_channel(fake_connector).to_json()
        await queue(db, now, target=channel, text="to Teams", platform="teams")
        loop.wake()
        started = time.monotonic()

        async def teams_sent() -> list[Sent] | None:
            return fake_connector.sent or None

        sent = await eventually(teams_sent, within=5, what="the Teams message")
        assert time.monotonic() - started < 3, "not after Slack's 30 s timeout"
        assert sent[0].delivery == "outbox-2", "the message names the row that sent it"
    finally:
        hold.release()
        loop.stop()
        await asyncio.wait_for(running, timeout=10)


async def test_a_busy_database_when_the_platform_accepted_does_not_send_twice(
    db: Sessions, sqlite_url: str, fake_slack: FakeSlack, clock: Clock
) -> None:
    messengers = {Platform.SLACK: slack_messenger(fake_slack)}
    loop = DeliveryLoop(db=db, messengers=messengers, clock=clock)
    case_id = await a_case(db)
    await queue(db, clock, target=SLACK_CHANNEL, text="new", case_id=case_id, purpose="triage")
    hold = fake_slack.hold("chat.postMessage", after_accept=True)
    sending = asyncio.create_task(loop.run_once())
    await asyncio.wait_for(hold.reached.wait(), timeout=5)
    other_writer = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # the database is busy as Slack's answer arrives
    hold.release()
    await asyncio.sleep(SQLITE_BUSY_TIMEOUT_MS / 1000 + 0.5)  # longer than the bot will wait
    other_writer.execute("ROLLBACK")
    other_writer.close()
    assert await sending == 1
    clock.advance(LEASE_SECONDS + 1)  # were the row still leased, it would be claimed now
    assert await loop.run_once() == 0
    assert len(fake_slack.delivered("chat.postMessage")) == 1, "posted once"
    async with db() as s:
        [card] = await posted.list_posted(session=s, case_id=case_id, purpose="triage")
        assert await outbox.pending_count(session=s) == 0
    [accepted] = fake_slack.delivered("chat.postMessage")
    assert card.message_id == (accepted.reply or {}).get("ts")


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    in_a_minute = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    assert retry_after_seconds("7") == 7.0
    assert 58 <= retry_after_seconds(format_datetime(in_a_minute, usegmt=True)) <= 60
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon", default=2.0) == 2.0
    assert retry_after_seconds(None) == 1.0
