"""The Teams connector path: what goes on the wire is what botbuilder would have sent.

Replies and deliveries are sent by ``bot.handlers.teams.connector`` over one aiohttp session
instead of msrest's ``ConnectorClient``. These tests hold it to the stock client's behaviour:
the JSON is botbuilder's own serialisation (card contents passed through, not walked), the
path parts are quoted as msrest quotes them, the bearer token comes from botframework's
credentials (none in local mode) and is fetched off the event loop, and a call is made once,
even a card update on a connection the connector cut. The renderer's shortcut for text with
nothing to escape gives what the full escaping gives. An incoming activity is read into the
model msrest's ``Activity().deserialize`` makes, and a reply's copy in ``TurnContext`` shares
the card JSON, and only it.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from typing import Any

import pytest
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.core.serializer_helper import serializer_helper
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    Attachment,
    ChannelAccount,
    ConversationParameters,
)
from botframework.connector.auth import MicrosoftAppCredentials
from hypothesis import given, settings
from hypothesis import strategies as st
from msrest.serialization import Deserializer

from bot.cards import Card
from bot.handlers.teams import adaptive_text
from bot.handlers.teams.auth import build_authentication
from bot.handlers.teams.bot import StaffSafetyBot, TeamsTriggerFilter, attachment
from bot.handlers.teams.connector import Connector, conversations_url
from bot.handlers.teams.messenger import TeamsMessenger
from bot.handlers.teams.serialize import activity_from_json, invoke_json, model_json, utc_stamp
from bot.messaging import DeliveryError
from bot.model import ConversationRef, MessageRef, Platform
from bot.policy import load_default_pack
from bot.replies import replies_card
from tests.support.chaos import Chaos, Fault
from tests.support.fake_connector import FakeConnector, card_action_activity, message_activity

CARD = replies_card(load_default_pack())
CHANNEL = "19:triage@thread.tacv2;messageid=1700000000000"


def reply_to(incoming: dict[str, Any]) -> Activity:
    """A card reply as ``TurnContext.send_activity`` makes it from an incoming message."""
    reference = TurnContext.get_conversation_reference(Activity().deserialize(incoming))
    reply = MessageFactory.attachment(attachment(CARD))
    reply = TurnContext.apply_conversation_reference(reply, reference)
    reply.input_hint = "acceptingInput"
    return reply


def models() -> list[Any]:
    stamp = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    odd = {"tuple": (1, 2), "int keys": {1: "x"}, "none": None, "nested": [[1.5, True]]}
    return [
        reply_to(message_activity("report abuse", service_url="http://127.0.0.1:9/")),
        Activity(type="message", attachments=[attachment(Card(title="T", elements=()))]),
        Activity(
            type="message",
            text="odd values go through msrest",
            timestamp=stamp,
            attachments=[Attachment(content_type="x", content=odd)],
            value=[1, {"x": None}],
            channel_data={"staffSafety": {"delivery": "outbox-1"}},
            entities=[],
        ),
        Activity(
            type=ActivityTypes.message,  # a str enum: msrest writes its value
            id=7,  # not a str: msrest writes str(7)
            history_disclosed=True,
            members_added=[ChannelAccount(id="29:new", name="New Person")],
            listen_for=["yes", "no"],
            local_timestamp=dt.datetime(
                2026, 11, 21, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))
            ),
        ),
        ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id="28:bot"),
            members=[ChannelAccount(id="29:someone")],
            tenant_id="tenant-1",
            channel_data={"tenant": {"id": "tenant-1"}},
        ),
    ]


@pytest.mark.parametrize("model", models(), ids=lambda m: type(m).__name__)
def test_the_json_sent_is_botbuilders_own_serialisation(model: Any) -> None:
    ours, theirs = model_json(model), model.serialize()
    assert ours == theirs
    assert list(ours) == list(theirs), "the keys in msrest's order"


def test_an_invoke_response_is_what_botbuilder_would_answer() -> None:
    card = attachment(CARD).content
    response = AdaptiveCardInvokeResponse(
        status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
    )
    assert invoke_json(response) == serializer_helper(response)
    assert invoke_json(response)["value"] is card, "the card is not walked or copied"
    assert invoke_json(None) is None


def test_a_path_part_is_quoted_whole() -> None:
    url = conversations_url("https://smba.example.net/emea/", CHANNEL, "activities", "a/b")
    assert str(url) == (
        "https://smba.example.net/emea/v3/conversations/"
        "19%3Atriage%40thread.tacv2%3Bmessageid%3D1700000000000/activities/a%2Fb"
    )


class CountingCredentials(MicrosoftAppCredentials):
    """botframework's credentials with msal's token call replaced (no network)."""

    def __init__(self, app_id: str) -> None:
        super().__init__(app_id, "not-a-real-secret")
        self.threads: list[str] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.threads.append(threading.current_thread().name)
        return "token-1"


async def test_the_token_comes_from_the_credentials_off_the_loop_and_is_reused(
    fake_connector: FakeConnector,
) -> None:
    connector, credentials = Connector(), CountingCredentials("app-1")
    try:
        for text in ("one", "two"):
            await connector.send_to_conversation(
                fake_connector.service_url,
                CHANNEL,
                model_json(Activity(type="message", text=text)),
                credentials=credentials,
            )
    finally:
        await connector.close()
    assert [s.headers["Authorization"] for s in fake_connector.sent] == ["Bearer token-1"] * 2
    assert [s.conversation_id for s in fake_connector.sent] == [CHANNEL] * 2
    assert fake_connector.sent[0].headers["x-ms-conversation-id"] == CHANNEL
    assert len(credentials.threads) == 1, "the token is reused for a minute"
    assert credentials.threads != [threading.current_thread().name], "msal runs off the loop"


async def test_local_mode_sends_no_token(fake_connector: FakeConnector) -> None:
    connector = Connector(pooled=False)
    await connector.send_to_conversation(
        fake_connector.service_url,
        "a:chat",
        model_json(Activity(type="message", text="hi")),
        credentials=MicrosoftAppCredentials("", ""),
    )
    assert "Authorization" not in fake_connector.sent[0].headers


@pytest.mark.parametrize("fault", [Fault.RESET, Fault.SERVER_ERROR, Fault.RATE_LIMITED])
async def test_a_card_update_on_the_shared_session_is_made_once(
    fake_connector: FakeConnector, fault: Fault
) -> None:
    connector = Connector()
    auth = build_authentication(app_id="", password="", tenant_id="")
    messenger = TeamsMessenger(auth, app_id="", timeout=5.0, connector=connector)
    channel = ConversationRef(
        Platform.TEAMS, conversation_id="19:c@thread.tacv2", service_url=fake_connector.service_url
    )
    try:
        await messenger.post(channel, CARD)  # the session now holds a kept-alive connection
        fake_connector.chaos = Chaos(rate=1.0, kinds=(fault,), retry_after=(3, 3))
        with pytest.raises(DeliveryError) as failed:
            await messenger.update(MessageRef(channel, "activity-1"), CARD, delivery_id="o-1")
    finally:
        await messenger.close()
    assert fake_connector.attempts["update"] == 1, "no repeat by aiohttp on a cut connection"
    assert failed.value.retry_after == (3 if fault is Fault.RATE_LIMITED else None)
    assert not failed.value.permanent


async def test_a_notifications_words_cannot_mention_or_link(fake_connector: FakeConnector) -> None:
    """The activity's ``summary`` (what a notification shows) is neutralised like every other
    text: a title a person typed cannot mention everyone, link or carry a tag."""
    hostile = "<at>Everyone</at> [Verify](https://evil.example/login) <img src=x>"
    messenger = TeamsMessenger(
        build_authentication(app_id="", password="", tenant_id=""), app_id="", timeout=5.0
    )
    channel = ConversationRef(
        Platform.TEAMS, conversation_id="19:c@thread.tacv2", service_url=fake_connector.service_url
    )
    try:
        await messenger.post(channel, Card(title=f"Weekly check: {hostile}"))
    finally:
        await messenger.close()
    summary = fake_connector.sent[0].activity["summary"]
    assert summary.replace(adaptive_text.WORD_JOINER, "") == f"Weekly check: {hostile}"
    for dangerous in ("<at>", "<img", "https://", "evil.example", "](h"):
        assert dangerous not in summary


def test_teams_trigger_field_is_not_warned_about_but_others_are(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("msrest.serialization")
    quiet = TeamsTriggerFilter()
    logger.addFilter(quiet)
    try:
        with caplog.at_level(logging.WARNING, logger="msrest.serialization"):
            AdaptiveCardInvokeValue(action={"type": "Action.Execute"}, trigger="manual")
            AdaptiveCardInvokeValue(action={"type": "Action.Execute"}, surprise="x")
    finally:
        logger.removeFilter(quiet)
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and warned[0].startswith("surprise is not a known attribute")


def full_escape(text: str) -> str:
    """``escape_adaptive`` without its shortcut."""
    t = adaptive_text
    text = t._INLINE_MARKERS.sub(r"\\\1", t._NEWLINES.sub("\n", text))
    text = t._BLOCK_START.sub(t.WORD_JOINER, text)
    return t._break_links(text).replace("\n", "\n\n")


def full_plain(text: str) -> str:
    """``escape_plain`` without its shortcut."""
    t = adaptive_text
    return t._LINK_JOIN.sub("]" + t.WORD_JOINER, t._break_links(text))


TEXT = st.text(alphabet="ab1 .:/<&]()[\\`*_~|#>+=-\t\r\n\u2060é0", max_size=12) | st.text()


@given(TEXT)
def test_text_with_nothing_to_escape_comes_out_as_the_full_escaping_makes_it(text: str) -> None:
    assert adaptive_text.escape_adaptive(text) == full_escape(text)
    assert adaptive_text.escape_plain(text) == full_plain(text)


def test_plain_words_are_returned_as_they_are() -> None:
    words = "Who contacted you? Tell us what happened, in your own words"
    assert adaptive_text.escape_adaptive(words) is words
    assert adaptive_text.escape_plain(words) is words


SERVICE = "http://127.0.0.1:9/"
INCOMING = [
    message_activity("report abuse", service_url=SERVICE),
    card_action_activity({"action": "case.acknowledge:1:1"}, service_url=SERVICE),
    message_activity(
        "<at>Staff Safety</at> bind abuse-triage",
        service_url=SERVICE,
        conversation_id=CHANNEL,
        conversation_type="channel",
        timestamp="2026-11-21T10:00:00.1234567Z",  # seven digits, as Teams stamps
        localTimestamp="2026-11-21T12:00:00.123+02:00",
        entities=[{"type": "mention", "text": "<at>Staff Safety</at>", "mentioned": {"id": "1"}}],
        attachments=[{"contentType": "text/html", "content": "<p>hi</p>"}],
        membersAdded=[{"id": "28:bot"}],
        somethingNew={"x": [1, 2.5, None, True]},
    ),
    {"type": "message", "id": 5, "timestamp": "2026-11-21t10:00:00z", "isGroup": "maybe"},
]
MALFORMED = [
    {"type": "message", "timestamp": "yesterday"},
    {"type": "message", "timestamp": "2026-13-01T10:00:00Z"},
    {"type": "message", "from": "someone"},
    {"type": "message", "attachments": {"a": 1}},
    {"type": "message", "conversation": {"isGroup": "maybe"}},
]


def read_both(body: dict[str, Any]) -> tuple[Any, Any]:
    """Ours and msrest's reading of ``body``: a model, or the kind of error raised."""
    outcomes = []
    for read in (activity_from_json, lambda b: Activity().deserialize(b)):
        try:
            outcomes.append(read(copy.deepcopy(body)))
        except Exception as error:
            outcomes.append(type(error))
    return outcomes[0], outcomes[1]


def assert_same_reading(body: dict[str, Any]) -> None:
    ours, theirs = read_both(body)
    assert ours == theirs
    if isinstance(theirs, Activity):
        assert ours.additional_properties == theirs.additional_properties
        for stamp in ("timestamp", "local_timestamp"):
            assert repr(getattr(ours, stamp)) == repr(getattr(theirs, stamp)), "the same tzinfo"
        assert model_json(ours) == theirs.serialize()


@pytest.mark.parametrize("body", INCOMING + MALFORMED)
def test_an_incoming_activity_is_read_as_msrest_reads_it(body: dict[str, Any]) -> None:
    assert_same_reading(body)


def test_a_malformed_activity_is_refused_as_msrest_refuses_it() -> None:
    for body in MALFORMED:
        ours, theirs = read_both(body)
        assert ours is theirs and issubclass(ours, Exception), body


LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4)
JSON = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
STAMP = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(
    lambda d: d.isoformat(timespec="microseconds")
).flatmap(
    lambda d: st.sampled_from([d[:19] + "Z", d + "Z", d + "7Z", d[:22] + "Z", d + "+02:00"])
) | st.text(max_size=25)
ACCOUNT = st.fixed_dictionaries(
    {},
    optional={
        "id": LEAF,
        "name": st.text(max_size=4),
        "aadObjectId": st.text(max_size=4),
        "isGroup": LEAF,
        "conversationType": st.text(max_size=4),
        "tenantId": LEAF,
        "properties": JSON,
    },
)
BODY = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "invoke"]) | LEAF},
    optional={
        "id": LEAF,
        "timestamp": STAMP,
        "localTimestamp": STAMP,
        "from": ACCOUNT | JSON,
        "conversation": ACCOUNT,
        "recipient": ACCOUNT,
        "membersAdded": st.lists(ACCOUNT, max_size=2) | JSON,
        "text": LEAF,
        "value": JSON,
        "channelData": JSON,
        "attachments": st.lists(
            st.fixed_dictionaries({}, optional={"contentType": LEAF, "content": JSON}), max_size=2
        ),
        "entities": st.lists(st.dictionaries(st.sampled_from(["type", "text"]), JSON), max_size=2),
        "historyDisclosed": LEAF,
        "somethingNew": JSON,
    },
)


@settings(max_examples=300)
@given(BODY)
def test_any_body_is_read_and_written_as_msrest_does(body: dict[str, Any]) -> None:
    assert_same_reading(body)


@given(STAMP)
def test_a_time_stamp_is_read_as_msrest_reads_it(text: str) -> None:
    stamp = utc_stamp(text)
    if stamp is not None:
        theirs = Deserializer.deserialize_iso(text)
        assert stamp == theirs and repr(stamp) == repr(theirs)


def test_a_reply_copy_shares_the_card_and_copies_the_rest() -> None:
    reply = reply_to(message_activity("home", service_url=SERVICE))
    copied = copy.deepcopy(reply)
    card, copied_card = reply.attachments[0], copied.attachments[0]
    assert copied_card.content is card.content, "the rendered card is shared"
    assert copied_card is not card and copied.conversation is not reply.conversation
    assert copied_card.additional_properties is not card.additional_properties
    assert model_json(copied) == model_json(reply) == reply.serialize()
    response = StaffSafetyBot._create_invoke_response(
        AdaptiveCardInvokeResponse(status_code=200, type="t", value=card.content)
    )
    copied_response = copy.deepcopy(response)
    assert copied_response is not response and copied_response.body is response.body
    assert (copied_response.status, type(copied_response)) == (200, type(response))
