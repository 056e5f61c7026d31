"""The requests each server is driven with, built (and Slack-signed) before each run.

Slack refuses a request whose ``X-Slack-Request-Timestamp`` is more than five minutes old,
so the Slack sets are signed with the current time just before the run that replays them
(a run lasts seconds). Every request is one Slack or Bot Framework payload as the platform
sends it, made with the test suite's own builders (``tests/support``):

* slash commands: ``/report-abuse`` from a different person each time (a burst of reports
  after a controversial piece of guidance: each opens a new draft);
* triage presses: "Acknowledge" on a different seeded report each time, at the version the
  card showed, so every press is a legal move (``new -> acknowledged``);
* Teams messages: ``report abuse`` from a different person each time, in their chat;
* Teams presses: "Acknowledge" as an ``adaptiveCard/action`` invoke, as for Slack.

A set is written to a file, one request a line (method, path, headers, body, separated by
tabs), which ``bench/replay.lua`` hands to ``wrk`` and :mod:`bench.driver` reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.config import (
    SIGNING_SECRET,
    SLACK_MANAGER,
    SLACK_TRIAGE_CHANNEL,
    TEAMS_MANAGER,
    TEAMS_TRIAGE_CHANNEL,
)
from bot.actions import ActionName, ActionRef
from tests.support.fake_connector import card_action_activity, message_activity
from tests.support.slack_signing import press_body, signed_headers, slash_command_body

SLACK_PATH = "/slack/events"
TEAMS_PATH = "/api/messages"
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Request:
    """One HTTP request to replay."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


def slash_commands(count: int) -> list[Request]:
    """``/report-abuse`` from ``count`` different people, signed now."""
    stamp = int(time.time())
    requests = []
    for n in range(count):
        body = slash_command_body(
            "/report-abuse", user_id=f"U{n:08d}", trigger_id=f"{n}.{stamp}.bench"
        )
        headers = signed_headers(body, secret=SIGNING_SECRET, timestamp=stamp)
        requests.append(Request("POST", SLACK_PATH, headers, body))
    return requests


def triage_presses(cases: Iterable[tuple[str, str]]) -> list[Request]:
    """ "Acknowledge" on each seeded report (``(case id, card ts)``), signed now.

    Each press carries its own ``action_ts``, as Slack stamps them: the bot drops a repeat.
    """
    stamp = int(time.time())
    requests = []
    for n, (case_id, card_ts) in enumerate(cases):
        value = ActionRef(ActionName.CASE_ACKNOWLEDGE, case_id, 1).encode()
        body = press_body(
            SLACK_MANAGER,
            value,
            channel=SLACK_TRIAGE_CHANNEL,
            message_ts=card_ts,
            stamp=f"{stamp}.{n:06d}",
        )
        headers = signed_headers(body, secret=SIGNING_SECRET, timestamp=stamp)
        requests.append(Request("POST", SLACK_PATH, headers, body))
    return requests


def teams_messages(count: int, service_url: str) -> list[Request]:
    """``report abuse`` in the personal chat of ``count`` different people."""
    requests = []
    for n in range(count):
        activity = message_activity(
            "report abuse",
            service_url=service_url,
            user_id=f"29:bench-{n}",
            aad_object_id=f"aad-bench-{n:08d}",
            conversation_id=f"a:chat-{n}",
            id=f"incoming-{n}",
        )
        requests.append(Request("POST", TEAMS_PATH, JSON, json.dumps(activity)))
    return requests


def teams_presses(case_ids: Iterable[str], service_url: str) -> list[Request]:
    """ "Acknowledge" pressed on each seeded report's card in the Teams triage channel."""
    requests = []
    for n, case_id in enumerate(case_ids):
        data = {"action": ActionRef(ActionName.CASE_ACKNOWLEDGE, case_id, 1).encode()}
        activity = card_action_activity(
            data,
            service_url=service_url,
            user_id="29:manager",
            aad_object_id=TEAMS_MANAGER,
            conversation_id=TEAMS_TRIAGE_CHANNEL,
            conversation_type="channel",
            id=f"press-{n}",  # each activity its own id (a repeated id is dropped)
        )
        requests.append(Request("POST", TEAMS_PATH, JSON, json.dumps(activity)))
    return requests


def write(requests: Sequence[Request], path: Path) -> Path:
    """Write a set for ``bench/replay.lua`` (tabs and newlines never occur in the fields)."""
    with path.open("w", encoding="ascii") as out:
        for r in requests:
            headers = [f"{name}: {value}" for name, value in r.headers.items()]
            fields = [r.method, r.path, *headers, r.body]
            assert not any("\t" in f or "\n" in f for f in fields), "unreplayable request"
            out.write("\t".join(fields) + "\n")
    return path


def read(path: Path) -> list[Request]:
    """Read a set written by :func:`write`."""
    requests = []
    for line in path.read_text(encoding="ascii").splitlines():
        method, target, *middle, body = line.split("\t")
        headers = dict(h.split(": ", 1) for h in middle)
        requests.append(Request(method, target, headers, body))
    return requests
