"""Malformed requests on both endpoints: 4xx, never 5xx; unknown actions acknowledged.

``POST /slack/events``: a request without a valid signature (including a timestamp that is
not a number, and a body that is not UTF-8) gets 401 before anything is parsed; a signed
body that is not a form or JSON, or not the shape of a Slack request, gets 400 (bolt alone
answered 500 to both). ``POST /api/messages``: a body that is not JSON, or not an activity,
gets 400 (415 when it is not even sent as JSON); a card action whose value is not the shape
Teams sends gets 400; an invoke the bot does not use (a task module, a messaging extension)
is acknowledged with 200 and logged. A button whose action id is not one of ours is
acknowledged (200) and ignored, with a log line, on both platforms.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.model import Platform
from bot.policy import load_default_pack
from tests.e2e.teams_support import shows
from tests.security.support import (
    Served,
    person,
    served,
    slack_press,
    stored,
    teams_activity,
)
from tests.support.slack_signing import interaction_body, signed_headers, slash_command_body

SLACK_USER = person(Platform.SLACK, 1, "Sam Sender")
TEAMS_USER = person(Platform.TEAMS, 1, "Sam Sender")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DEEP = "[" * 5000 + "]" * 5000
WIRE_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def wire(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with served(tmp_path_factory.mktemp("wire"), load_default_pack()) as bot:
        yield bot


def view_submission(**changes: Any) -> str:
    """A flow page submission with ``changes`` made to its payload."""
    payload: dict[str, Any] = {
        "type": "view_submission",
        "user": {"id": SLACK_USER.user_id, "name": "sam"},
        "team": {"id": "T0FAKE"},
        "view": {"type": "modal", "id": "V1", "callback_id": "flow", "private_metadata": "a:b"},
    }
    for key, value in changes.items():
        target = payload["view"] if key.startswith("view_") else payload
        target[key.removeprefix("view_")] = value
    return interaction_body(payload)


def said(wire: Served) -> list[Any]:
    """What the bot asked Slack to show (bolt's own ``auth.test`` left out)."""
    return [call for call in wire.slack.calls if call.method != "auth.test"]


SIGNED_BUT_MALFORMED: list[tuple[str, str, str]] = [
    ("JSON that does not parse", "{nope", JSON),
    ("JSON that is a list", "[1, 2]", JSON),
    ("JSON nested 5,000 deep", DEEP, JSON),
    ("a payload that is not JSON", "payload=%7Bnope", FORM),
    ("a payload that is a list", urlencode({"payload": "[1]"}), FORM),
    ("a payload that is a string", urlencode({"payload": '"x"'}), FORM),
    ("an empty body", "", FORM),
    ("a form that is no Slack request", "hello=world&x=%%%", FORM),
    ("a user that is a string", view_submission(user="U1"), FORM),
    ("a view without its type", view_submission(view_type=None), FORM),
    ("view state that is a list", view_submission(view_state=[1]), FORM),
    ("view state values that are text", view_submission(view_state={"values": "x"}), FORM),
    ("private metadata that is a number", view_submission(view_private_metadata=5), FORM),
    ("actions that are text", interaction_body({"type": "block_actions", "actions": "x"}), FORM),
    (
        "an action without its id",
        interaction_body({"type": "block_actions", "actions": [{"value": "x"}]}),
        FORM,
    ),
    ("an event that is a list", json.dumps({"type": "event_callback", "event": [1]}), JSON),
    (
        "a press with no action",
        interaction_body({"type": "block_actions", "actions": [], "trigger_id": "t"}),
        FORM,
    ),
    (
        "a press with no trigger",
        interaction_body({"type": "block_actions", "actions": [{"action_id": "a"}]}),
        FORM,
    ),
    ("a command with no trigger", urlencode({"command": "/report-abuse", "user_id": "U1"}), FORM),
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("case", "body", "content_type"),
    SIGNED_BUT_MALFORMED,
    ids=[c for c, _, _ in SIGNED_BUT_MALFORMED],
)
async def test_slack_a_signed_malformed_body_gets_400(
    wire: Served, case: str, body: str, content_type: str, figures: Callable[..., None]
) -> None:
    before = await stored(wire)
    response = await wire.bot.slack(body, headers=signed_headers(body, content_type=content_type))
    assert response.status == 400, (case, await response.text())
    assert "error" in await response.json()
    assert await stored(wire) == before and said(wire) == []
    figures("malformed requests", requests=1, status_400=1)


UNSIGNED: list[tuple[str, bytes, dict[str, str]]] = [
    ("no signature", b"{nope", {"Content-Type": JSON}),
    ("wrong secret", b"{nope", signed_headers("{nope", secret="not-ours", content_type=JSON)),
    (
        "a timestamp ten minutes old",
        slash_command_body("/report-abuse").encode(),
        signed_headers(slash_command_body("/report-abuse"), timestamp=int(time.time()) - 600),
    ),
    (
        "a timestamp that is not a number",
        b"{}",
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00", "Content-Type": JSON},
    ),
    ("a body that is not UTF-8", b"\xff\xfe\x00payload", signed_headers("x", content_type=FORM)),
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("case", "body", "headers"), UNSIGNED, ids=[c for c, _, _ in UNSIGNED])
async def test_slack_an_unsigned_request_gets_401_before_it_is_read(
    wire: Served, case: str, body: bytes, headers: dict[str, str], figures: Callable[..., None]
) -> None:
    response = await wire.bot.session.post(
        wire.bot.url("/slack/events"), data=body, headers=headers
    )
    assert response.status == 401, (case, await response.text())
    assert said(wire) == []
    figures("malformed requests", requests=1, status_401=1)


@pytest.mark.asyncio(loop_scope="module")
@settings(WIRE_SETTINGS)
@given(
    body=st.one_of(
        st.text(max_size=300),
        st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4).map(urlencode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=12,
        ).map(lambda value: urlencode({"payload": json.dumps(value)})),
    ),
    content_type=st.sampled_from([FORM, JSON]),
)
async def test_slack_any_signed_body_gets_an_answer_not_a_5xx(
    wire: Served, body: str, content_type: str, figures: Callable[..., None]
) -> None:
    response = await wire.bot.slack(body, headers=signed_headers(body, content_type=content_type))
    assert response.status < 500, (body[:200], response.status, await response.text())
    figures(
        "malformed requests (hypothesis, Slack)", requests=1, **{f"status_{response.status}": 1}
    )


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "value", ["not-ours", "v1|case.nope|x|1", "v1|case.acknowledge|" + "x" * 100 + "|1", 5]
)
async def test_slack_an_unknown_action_is_acknowledged_and_ignored(
    wire: Served, value: Any, caplog: pytest.LogCaptureFixture, figures: Callable[..., None]
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    calls = len(said(wire))
    response = await wire.bot.slack(slack_press(SLACK_USER, value, trigger="t1", channel="C1"))
    assert response.status == 200 and await response.text() == ""
    for _ in range(100):  # the listener runs after the acknowledgement
        if "ignored an unknown Slack action" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "ignored an unknown Slack action id=press" in caplog.text
    assert len(said(wire)) == calls, "nothing was opened or posted"
    figures("unknown actions", slack_acknowledged=1, slack_logged=1)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("metadata", [None, "v1|case.assign|c1|\u00b2", "nope"])
async def test_slack_a_case_form_that_is_not_ours_is_acknowledged(
    wire: Served, metadata: Any
) -> None:
    """A triage form whose metadata is missing or not a press of ours: closed, no 500."""
    body = view_submission(view_callback_id="case_form", view_private_metadata=metadata)
    before = await stored(wire)
    response = await wire.bot.slack(body)
    assert response.status == 200 and await response.text() == ""
    assert await stored(wire) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_slack_a_version_in_other_digits_is_an_unknown_action(
    wire: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """ "²" is a digit to ``str.isdigit`` but no number to ``int``: ignored, like any
    value that is not ours, not a failed listener."""
    caplog.set_level(logging.INFO, logger="bot")
    press = slack_press(SLACK_USER, "v1|case.acknowledge|c1|\u00b2", trigger="t1", channel="C1")
    response = await wire.bot.slack(press)
    assert response.status == 200
    for _ in range(100):
        if "ignored an unknown Slack action" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "ignored an unknown Slack action" in caplog.text
    assert "listener failed" not in caplog.text


# --- Teams ------------------------------------------------------------------------------------


async def post_teams(wire: Served, body: bytes, content_type: str = JSON) -> tuple[int, str]:
    response = await wire.bot.session.post(
        wire.bot.url("/api/messages"), data=body, headers={"Content-Type": content_type}
    )
    return response.status, await response.text()


def invoke(wire: Served, value: Any, name: str = "adaptiveCard/action") -> bytes:
    activity = teams_activity(wire.connector, TEAMS_USER, {})
    activity.update({"name": name, "value": value})
    return json.dumps(activity).encode()


TEAMS_MALFORMED: list[tuple[str, Callable[[Served], bytes], int]] = [
    ("JSON that does not parse", lambda w: b"{nope", 400),
    ("not UTF-8", lambda w: b'{"type": "message", "text": "\xff"}', 400),
    ("JSON nested 5,000 deep", lambda w: DEEP.encode(), 400),
    ("JSON that is a list", lambda w: b"[1]", 400),
    ("an activity without a type", lambda w: b'{"text": "hello"}', 400),
    ("a sender that is text", lambda w: json.dumps({"type": "message", "from": "x"}).encode(), 400),
    ("a card action whose value is text", lambda w: invoke(w, "value"), 400),
    ("a card action whose action is text", lambda w: invoke(w, {"action": "nope"}), 400),
    ("a card action with no action", lambda w: invoke(w, {"trigger": "manual"}), 400),
    (
        "a card action that is not Action.Execute",
        lambda w: invoke(w, {"action": {"type": "Action.Submit", "data": {}}}),
        400,
    ),
    ("a message with no conversation", lambda w: without(w, "conversation"), 400),
    ("a message with no conversation id", lambda w: without(w, "conversation", "id"), 400),
    ("a message with no sender", lambda w: without(w, "from"), 400),
    ("a card press with no sender id", lambda w: without(w, "from", "id", invoke=True), 400),
]


def without(wire: Served, field: str, inner: str = "", *, invoke: bool = False) -> bytes:
    """A message (or card press) with ``field`` (or its ``inner`` part) left out."""
    activity = teams_activity(wire.connector, TEAMS_USER, {"action": "v1|case.nope|x|1"})
    if not invoke:
        activity.update({"type": "message", "text": "report abuse", "value": None})
        activity.pop("name", None)
    if inner:
        activity[field] = {k: v for k, v in activity[field].items() if k != inner}
    else:
        del activity[field]
    return json.dumps(activity).encode()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("case", "make", "status"), TEAMS_MALFORMED, ids=[c for c, _, _ in TEAMS_MALFORMED]
)
async def test_teams_a_malformed_body_gets_400(
    wire: Served,
    case: str,
    make: Callable[[Served], bytes],
    status: int,
    figures: Callable[..., None],
) -> None:
    before, sent = await stored(wire), len(wire.connector.sent)
    answered, text = await post_teams(wire, make(wire))
    assert answered == status, (case, text)
    assert await stored(wire) == before and len(wire.connector.sent) == sent
    figures("malformed requests", requests=1, status_400=1)


@pytest.mark.asyncio(loop_scope="module")
async def test_teams_a_form_body_is_refused_as_not_json(
    wire: Served, figures: Callable[..., None]
) -> None:
    status, _ = await post_teams(wire, b"type=message&text=hi", FORM)
    assert status == 415
    figures("malformed requests", requests=1, status_415=1)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "name", ["task/fetch", "composeExtension/query", "config/fetch", "no/such"]
)
async def test_teams_an_invoke_the_bot_does_not_use_is_acknowledged(
    wire: Served, name: str, caplog: pytest.LogCaptureFixture, figures: Callable[..., None]
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    sent = len(wire.connector.sent)
    status, _ = await post_teams(wire, invoke(wire, {"commandId": "x"}, name=name))
    assert status == 200
    assert f"ignored a Teams invoke the bot does not use: {name}" in caplog.text
    assert len(wire.connector.sent) == sent
    figures("unknown actions", teams_invokes_acknowledged=1)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("action", ["not-ours", "v1|case.nope|x|1", 5, ["list"], {"an": "object"}])
async def test_teams_an_unknown_action_is_acknowledged_and_ignored(
    wire: Served, action: Any, caplog: pytest.LogCaptureFixture, figures: Callable[..., None]
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    sent = len(wire.connector.sent)
    activity = teams_activity(wire.connector, TEAMS_USER, {"action": action})
    response = await wire.bot.teams(activity)
    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200 and "no longer in use" in shows(body["value"])
    assert "ignored an unknown Teams action" in caplog.text
    assert len(wire.connector.sent) == sent
    figures("unknown actions", teams_acknowledged=1, teams_logged=1)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)


@pytest.mark.asyncio(loop_scope="module")
@settings(WIRE_SETTINGS)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            ["type", "name", "value", "from", "conversation", "channelData", "text", "attachments"]
        ),
        JSON_VALUES,
        max_size=3,
    )
)
async def test_teams_any_activity_gets_an_answer_not_a_5xx(
    wire: Served, changes: dict[str, Any], figures: Callable[..., None]
) -> None:
    activity = teams_activity(wire.connector, TEAMS_USER, {"action": "not-ours"})
    activity.update(changes)
    status, text = await post_teams(wire, json.dumps(activity).encode())
    assert status < 500, (changes, status, text[:300])
    figures("malformed requests (hypothesis, Teams)", requests=1, **{f"status_{status}": 1})
