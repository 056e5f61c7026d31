"""What the core asks of a platform when it must send something: the ``Messenger``.

Each platform adapter provides one (``SlackMessenger``, ``TeamsMessenger``). The delivery loop
(``bot.delivery``) calls them with neutral cards; they render and send. Failures are
reported as ``DeliveryError`` saying whether to try again and when, so back-off can honour
Slack's ``Retry-After`` and Teams' 429s without the loop knowing either API.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Protocol

from bot.cards import Card
from bot.model import ConversationRef, MessageRef, Platform


class DeliveryError(Exception):
    """Sending failed.

    Args:
        message: what went wrong, for the log (never shown to a person).
        retry_after: seconds the platform asked us to wait, when it said.
        permanent: True when trying again cannot help (channel gone, bot removed).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


def retry_after_seconds(value: object, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110).

    Anything unreadable gives ``default``, so a strange header still slows the retry
    instead of failing the delivery.
    """
    text = str(value or "").strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


class Messenger(Protocol):
    """Sends neutral cards to one platform.

    ``delivery_id`` names the outbox row being delivered (``"outbox-42"``). A messenger sends
    it along in the place its platform keeps for an app's own data (Slack message
    ``metadata``, the Bot Framework activity's ``channelData``), so every message can be
    matched to the row that caused it, and a message sent twice can be seen to be one.
    """

    platform: Platform

    async def post(
        self, conversation: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        """Post a new message in a channel or chat and return where it landed."""
        ...

    async def update(self, message: MessageRef, card: Card, *, delivery_id: str = "") -> None:
        """Replace a message posted earlier with a new rendering (cards update in place)."""
        ...

    async def send_direct(
        self, person: ConversationRef, card: Card, *, delivery_id: str = ""
    ) -> MessageRef:
        """Send a direct message to a person (opening the conversation if needed)."""
        ...
