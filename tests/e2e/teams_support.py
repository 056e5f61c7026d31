"""Helpers for the Teams scenario suite: people, a served bot with their roles, the wire.

Everything goes through ``POST /api/messages`` as the Bot Framework sends it, and every
reply, proactive message and card update is read back from the fake connector. Every card
seen (in an invoke response or on the connector) is checked against the official Adaptive
Card 1.5 schema and for person-typed text that could still act as markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.policy import load_default_pack
from bot.policy.organisation import Role
from bot.storage.repos import cases, events, outbox
from tests.e2e.test_teams_wire import execute_actions, submit_data
from tests.renderers.support import teams_shows, validate_adaptive
from tests.support.bot_fixtures import BotClient, make_settings, serve_bot
from tests.support.fake_connector import FakeConnector, card_action_activity, message_activity

T = TypeVar("T")

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
TRIAGE_CHANNEL = "19:abuse-triage@thread.tacv2"
HOSTILE = "<!channel> <@U123> @here [x](http://evil.example) <b>html</b>"


@dataclass(frozen=True)
class TeamsUser:
    """A person in the tenant: AAD object id (what the pack and the picker use), chat id."""

    aad: str
    name: str
    chat_user: str
    personal_chat: str

    @property
    def identity(self) -> str:
        return f"teams:{self.aad}"


def _user(number: int, name: str) -> TeamsUser:
    aad = f"0b5c3e55-2222-4333-8444-{number:012d}"
    return TeamsUser(aad, name, f"29:user-{number}", f"a:personal-{number}")


REPORTER = _user(1, "Rita Reporter")
LINE_MANAGER = _user(2, "Lena Linemanager")
MANAGER = _user(3, "Maria Manager")
OTHER_MANAGER = _user(4, "Omar Othermanager")
ADMIN = _user(5, "Ada Admin")
STRANGER = _user(6, "Sam Stranger")
BOARD_MEMBER = _user(7, "Bea Boardmember")


@contextlib.asynccontextmanager
async def served_bot(
    sqlite_url: str, files: Path, *, roles: Mapping[str, Role] | None = None
) -> AsyncIterator[BotClient]:
    """The real app, Teams in local mode, with a pack whose roles name the test people.

    ``roles`` adds to (or replaces) the pack's roles, e.g. the board for business cases.
    """
    pack = load_default_pack()
    merged = dict(pack.roles)
    merged["triage_manager"] = Role(
        label="Abuse report triage", members=[MANAGER.identity, OTHER_MANAGER.identity]
    )
    merged["admin"] = Role(label="Bot administrators", members=[ADMIN.identity])
    merged.update(roles or {})
    settings = make_settings(DATABASE_URL=sqlite_url, BOT_FILE_STORE=str(files), TEAMS_APP_ID="")
    async with serve_bot(settings, pack.model_copy(update={"roles": merged})) as client:
        yield client


async def eventually(probe: Callable[[], T | None], *, within: float = 10.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing arrived within {within} s")
        await asyncio.sleep(0.02)


async def eventually_async(probe: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled within {within} s")
        await asyncio.sleep(0.02)


# --- what a card shows, and checks on it ----------------------------------------------------

_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(([^)]*)\)")
_TAG = re.compile(r"<[A-Za-z/!@?]")


def rendered_texts(card: Any) -> list[str]:
    """Every string Teams renders as markdown or as plain text on a card (not input values).

    Input values are the content of an edit box, never parsed, so they are left out.
    """
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and key in (
                    "text",
                    "title",
                    "label",
                    "placeholder",
                    "errorMessage",
                    "fallbackText",
                ):
                    found.append(value)
                elif key == "facts" and isinstance(value, list):
                    found.extend(str(v) for fact in value for v in fact.values())
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def check_card(card: dict[str, Any]) -> dict[str, Any]:
    """Schema-valid Adaptive Card 1.5; no markup a person typed can act; no mentions."""
    validate_adaptive(card)
    assert card["version"] == "1.5"
    assert "entities" not in (card.get("msteams") or {}), "a card must not carry mentions"
    for text in rendered_texts(card):
        # Links the pack gives (advice pages) are fine; one a person typed must not form,
        # nor an autolink: the escaper breaks "evil.example" with an invisible joiner.
        assert "evil.example" not in text, f"a person's link is live in {text!r}"
        for target in _LINK.findall(text):
            assert target.startswith("https://"), f"markdown link to {target!r} in {text!r}"
        assert not _TAG.search(text), f"tag or mention markup in {text!r}"
    return card


def shows(card: dict[str, Any]) -> str:
    """All the text a card shows, as a person reads it (escapes resolved)."""
    return "\n".join(teams_shows(text) for text in rendered_texts(card))


def facts(card: dict[str, Any]) -> dict[str, str]:
    """The card's facts, title to value, as a person reads them."""
    found: dict[str, str] = {}
    for item in card.get("body", []):
        for fact in item.get("facts", []) if item.get("type") == "FactSet" else []:
            found[teams_shows(fact["title"])] = teams_shows(fact["value"])
    return found


def input_ids(card: dict[str, Any]) -> list[str]:
    return [item["id"] for item in card["body"] if str(item.get("type", "")).startswith("Input.")]


def button(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The ``data`` of the card's Action.Execute titled ``title``."""
    for action in execute_actions(card):
        if action["title"] == title:
            data: dict[str, Any] = dict(action["data"])
            return data
    raise AssertionError(f"no {title!r} button; the card has {button_titles(card)}")


def button_titles(card: dict[str, Any]) -> list[str]:
    return [action["title"] for action in execute_actions(card)]


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The card's inputs by id."""
    return {
        item["id"]: item for item in card["body"] if str(item.get("type", "")).startswith("Input.")
    }


def is_people_picker(item: dict[str, Any]) -> bool:
    return "choices.data" in item


def filled(card: dict[str, Any], **overrides: str) -> dict[str, str]:
    """What Teams sends for a page's inputs: ``overrides`` by id, else what each input shows
    (a prefilled value), else a sensible answer (the first choice; "About <id>" for text).

    A people picker has no choices until the person searches: give it an override.
    """
    values: dict[str, str] = {}
    for input_id, item in inputs(card).items():
        if input_id in overrides:
            values[input_id] = overrides[input_id]
        elif item.get("value"):
            values[input_id] = str(item["value"])
        elif is_people_picker(item):
            raise AssertionError(f"the people picker {input_id!r} needs a value")
        elif item["type"] == "Input.ChoiceSet":
            values[input_id] = str(item["choices"][0]["value"])
        else:
            values[input_id] = f"About {input_id}"
    unknown = set(overrides) - set(values)
    assert not unknown, f"the page has no inputs {sorted(unknown)}; it has {sorted(values)}"
    return values


def alerts(card: dict[str, Any]) -> list[str]:
    """The text blocks a card highlights (``color: Attention``), as a person reads them."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock" and node.get("color") == "Attention":
                found.append(teams_shows(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


# --- the wire ---------------------------------------------------------------------------------


class TeamsWire:
    """Talks to the served bot as Teams does, and reads what it sent from the fake connector."""

    def __init__(self, bot: BotClient, connector: FakeConnector) -> None:
        self.bot = bot
        self.connector = connector
        self.seen: list[dict[str, Any]] = []

    def _activity(
        self, user: TeamsUser, base: dict[str, Any], *, conversation: str = ""
    ) -> dict[str, Any]:
        base["from"] = {"id": user.chat_user, "name": user.name, "aadObjectId": user.aad}
        if conversation:
            base["conversation"] = {
                "id": conversation,
                "conversationType": "channel",
                "tenantId": "tenant-1",
            }
        else:
            base["conversation"]["id"] = user.personal_chat
        return base

    async def say(
        self,
        user: TeamsUser,
        text: str,
        *,
        attachments: list[dict[str, Any]] | None = None,
        conversation: str = "",
    ) -> dict[str, Any]:
        """Send a message; return the card the bot replied with in that conversation."""
        where = conversation or user.personal_chat
        before = len(self.connector.to_conversation(where))
        extra = {"attachments": attachments} if attachments is not None else {}
        activity = self._activity(
            user,
            message_activity(text, service_url=self.connector.service_url, **extra),
            conversation=conversation,
        )
        response = await self.bot.teams(activity)
        assert response.status in (200, 201), await response.text()
        replies = await eventually(
            lambda: [
                s for s in self.connector.to_conversation(where)[before:] if s.operation == "reply"
            ]
        )
        card = replies[-1].card
        assert card is not None, replies[-1].activity
        return self.keep(card)

    async def press(
        self, user: TeamsUser, data: dict[str, Any], *, conversation: str = ""
    ) -> dict[str, Any]:
        """Press an Action.Execute (``data`` with any inputs merged); return the invoke card."""
        activity = self._activity(
            user,
            card_action_activity(data, service_url=self.connector.service_url),
            conversation=conversation,
        )
        response = await self.bot.teams(activity)
        assert response.status == 200, await response.text()
        body = await response.json()
        assert body["statusCode"] == 200 and body["type"] == CARD_TYPE, body
        card: dict[str, Any] = body["value"]
        return self.keep(card)

    async def next_page(self, user: TeamsUser, card: dict[str, Any], **values: str) -> Any:
        """Submit a flow page with its inputs, as Teams merges them into the submit's data."""
        return await self.press(user, {**submit_data(card), **values})

    async def submit_form(
        self, user: TeamsUser, form: dict[str, Any], *, conversation: str = "", **values: str
    ) -> dict[str, Any]:
        """Submit a form card (a page, or a decision's comments) with every input it shows."""
        return await self.press(
            user, {**submit_data(form), **filled(form, **values)}, conversation=conversation
        )

    def keep(self, card: dict[str, Any]) -> dict[str, Any]:
        self.seen.append(card)
        return check_card(card)

    def sent_cards(self) -> list[dict[str, Any]]:
        """Every card the bot sent or updated on the connector."""
        return [s.card for s in self.connector.sent if s.card is not None]

    def updates_to(self, conversation: str, activity_id: str) -> list[dict[str, Any]]:
        """Cards that replaced one activity in a conversation (updates in place), in order."""
        return [
            s.card
            for s in self.connector.to_conversation(conversation)
            if s.operation == "update" and s.activity_id == activity_id and s.card is not None
        ]

    def sends_to(self, conversation: str) -> list[dict[str, Any]]:
        """Cards the bot sent on its own (not replies) to a conversation, in order."""
        return [
            s.card
            for s in self.connector.to_conversation(conversation)
            if s.operation == "send" and s.card is not None
        ]

    async def settled(self) -> None:
        """Wait until the delivery loop has sent everything queued."""

        async def empty() -> bool:
            async with self.bot.core.db() as s:
                return await outbox.pending_count(session=s) == 0

        await eventually_async(empty)


def download_info(connector: FakeConnector, name: str, data: bytes, mime: str) -> dict[str, Any]:
    """A file attached in the personal chat, as Teams delivers it (pre-authenticated link)."""
    url = connector.add_file(name, data, mime)
    return {
        "contentType": FILE_DOWNLOAD_INFO,
        "contentUrl": f"https://tenant.sharepoint.example/personal/{name}",
        "name": name,
        "content": {"downloadUrl": url, "uniqueId": f"id-{name}", "fileType": name.split(".")[-1]},
    }


def message_html(text: str = "<p>here you go</p>") -> dict[str, Any]:
    """The HTML copy of the message Teams attaches to every message: not a file."""
    return {"contentType": "text/html", "content": text}


async def only_case(bot: BotClient, kind: str) -> Any:
    """The one case of ``kind`` the test made."""
    async with bot.core.db() as s:
        [case] = await cases.list(session=s, kind=kind)
    return case


async def people_events(bot: BotClient, case_id: str) -> list[str]:
    """The people's events on a case (the bot's own lines left out)."""
    async with bot.core.db() as s:
        rows = await events.timeline(session=s, case_id=case_id)
    return [row.event for row in rows if row.actor_key != "bot"]
