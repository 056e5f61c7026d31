"""Helpers for the security suites: one served bot for a whole module, and the wire.

A module's tests share one bot (Slack over signed HTTP and Teams in local mode, both on
``POST`` into the real app on loopback) with its fakes and a migrated SQLite database; each
test makes its own people, cases and drafts, so nothing one test does decides another's.
The delivery loop does not run: these suites look at what a press or a submission did, not
at what was delivered afterwards.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.model import Actor, Platform
from bot.policy import PolicyPack
from bot.storage.migrate import upgrade
from bot.storage.repos import cases, outbox, sessions
from tests.support.bot_fixtures import BotClient, serve_bot, slack_settings
from tests.support.fake_connector import FakeConnector, card_action_activity, start_fake_connector
from tests.support.fake_slack import FakeSlack, start_fake_slack
from tests.support.slack_signing import interaction_body

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass
class Served:
    """The bot and the fakes standing in for Slack's and Microsoft's cloud."""

    bot: BotClient
    slack: FakeSlack
    connector: FakeConnector


@contextlib.asynccontextmanager
async def served(directory: Path, pack: PolicyPack) -> AsyncIterator[Served]:
    """The real app on loopback with ``pack``: Slack (signed HTTP) and Teams (local mode)."""
    url = f"sqlite+aiosqlite:///{directory / 'bot.db'}"
    await upgrade(url)
    slack, connector = await start_fake_slack(), await start_fake_connector()
    settings = slack_settings(url, slack, directory)
    try:
        async with serve_bot(settings, pack, run_delivery=False) as bot:
            yield Served(bot, slack, connector)
    finally:
        for fake in (slack, connector):
            assert fake.server is not None
            await fake.server.close()


@dataclass(frozen=True)
class Person:
    """Someone on one platform: a Slack ``U…`` id, or a Teams AAD object id."""

    platform: Platform
    user_id: str
    name: str

    @property
    def actor(self) -> Actor:
        return Actor(self.platform, self.user_id, self.name)

    @property
    def identity(self) -> str:
        return self.actor.key


def person(platform: Platform, number: int, name: str) -> Person:
    """Person ``number`` on ``platform``, with an id of the shape that platform gives."""
    if platform is Platform.SLACK:
        return Person(platform, f"U0SEC{number:05d}", name)
    return Person(platform, f"5ec0a11e-0000-4000-8000-{number:012d}", name)


# --- the wire -------------------------------------------------------------------------------


def slack_press(
    who: Person, value: Any, *, trigger: str, channel: str, view: dict[str, Any] | None = None
) -> str:
    """A ``block_actions`` body: a button pressed on a message, or inside a modal (``view``)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": who.user_id, "name": who.name},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "trigger_id": trigger,
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel},
        "actions": [{"action_id": "press", "block_id": "b", "type": "button", "value": value}],
    }
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view["id"]}
    return interaction_body(payload)


def slack_submission(who: Person, metadata: Any, state_values: dict[str, Any]) -> str:
    """A ``view_submission`` of a flow page: ``state_values`` is ``{block id: element}``."""
    payload = {
        "type": "view_submission",
        "user": {"id": who.user_id, "name": who.name},
        "team": {"id": "T0FAKE"},
        "api_app_id": "A0APP",
        "trigger_id": "1.2.3",
        "view": {
            "type": "modal",
            "id": "V0FLOW",
            "hash": "h",
            "callback_id": "flow",
            "private_metadata": metadata,
            "state": {
                "values": {block: {block: element} for block, element in state_values.items()}
            },
        },
    }
    return interaction_body(payload)


def teams_activity(connector: FakeConnector, who: Person, data: Any) -> dict[str, Any]:
    """An ``adaptiveCard/action`` invoke from ``who`` in their personal chat."""
    activity = card_action_activity(data, service_url=connector.service_url)
    activity["from"] = {"id": f"29:{who.user_id}", "name": who.name, "aadObjectId": who.user_id}
    activity["conversation"]["id"] = f"a:personal-{who.user_id}"
    return activity


async def teams_press(served: Served, who: Person, data: Any) -> tuple[int, Any]:
    """Send a press; the HTTP status and the JSON answered (None when there is none)."""
    response = await served.bot.teams(teams_activity(served.connector, who, data))
    text = await response.text()
    return response.status, json.loads(text) if text else None


def invoke_card(status: int, body: Any) -> dict[str, Any]:
    """The Adaptive Card an invoke was answered with (a 200 with a card, or the test fails)."""
    assert status == 200, (status, body)
    assert body["statusCode"] == 200 and body["type"] == CARD_TYPE, body
    card: dict[str, Any] = body["value"]
    return card


# --- what is stored -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """How many cases and outbox rows there are: what a refused submission must not change."""

    cases: int
    outbox: int


async def stored(served: Served) -> Stored:
    async with served.bot.core.db() as s:
        return Stored(
            cases=len(await cases.list(session=s)),
            outbox=await outbox.pending_count(session=s),
        )


async def drop_drafts(served: Served, who: Person) -> None:
    """Discard every open draft of ``who``, so a test starts with none."""
    async with served.bot.core.db.begin() as s:
        for row in await sessions.list_open(
            session=s, platform=who.platform.value, user_id=who.user_id
        ):
            await sessions.set_status(session=s, session_id=row.id, status="discarded")


# --- answers that a real person could give ----------------------------------------------------

WORKED_ON = "2025-06-01"


def abuse_report_pages(line_manager: str) -> list[tuple[str, dict[str, Any]]]:
    """Every page of the abuse report with answers as the engine stores them, in order."""
    return [
        ("safety", {"safety": "no"}),
        ("about_you", {"reporter_role": "staff", "directorate": "Evidence"}),
        ("who", {"line_manager": [line_manager]}),
        ("account", {"account_kind": "own", "channel": "email"}),
        (
            "what_happened",
            {
                "kind": "threat",
                "started_on": WORKED_ON,
                "ongoing": "yes",
                "senders": "angry@example.com",
                "links": "",
                "description": "They wrote to me at home.",
                "work_item": "Guidance 42",
                "contentious": "no",
            },
        ),
        ("evidence", {"evidence": []}),
        (
            "sensitivities",
            {"protected_characteristics": ["none"], "details_exposed": "no", "replied": "no"},
        ),
        ("review", {"review": "yes"}),
    ]


def business_case_pages(pack: PolicyPack, line_manager: str) -> list[tuple[str, dict[str, Any]]]:
    """Every page of the business case with answers as the engine stores them, in order."""
    policy = pack.business_case
    questions = [q.id for q in policy.questions]
    half = (len(questions) + 1) // 2
    applicant = {f.id: f"About {f.id}" for f in policy.applicant_fields}
    applicant.update({"email": "ann@example.org", "name": "Ann Applicant"})
    applicant[policy.line_manager.id] = [line_manager]
    applicant[policy.line_manager_title.id] = "Head of Digital"
    return [
        ("checklist", {f"check_{point.id}": "yes" for point in policy.checklist}),
        ("applicant", applicant),
        ("questions_1", {q: f"About {q}" for q in questions[:half]}),
        ("questions_2", {q: f"About {q}" for q in questions[half:]}),
        ("declaration", {"declaration": "yes"}),
    ]


def answers_of(pages: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """All the pages' answers together: what a submitted case holds."""
    merged: dict[str, Any] = {}
    for _, values in pages:
        merged.update(values)
    return merged
