"""What the core asks of a platform when it must send something: the ``Messenger``.

Each platform adapter provides one (``SlackMessenger``, ``TeamsMessenger``). The delivery loop
(``bot.delivery``) calls them with neutral cards; they render and send. Failures are
reported as ``DeliveryError`` saying whether to try again and when, so back-off can honour
Slack's ``Retry-After`` and Teams' 429s without the loop knowing either API.
"""

from __future__ import annotations

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


class Messenger(Protocol):
    """Sends neutral cards to one platform."""

    platform: Platform

    async def post(self, conversation: ConversationRef, card: Card) -> MessageRef:
        """Post a new message in a channel or chat and return where it landed."""
        ...

    async def update(self, message: MessageRef, card: Card) -> None:
        """Replace a message posted earlier with a new rendering (cards update in place)."""
        ...

    async def send_direct(self, person: ConversationRef, card: Card) -> MessageRef:
        """Send a direct message to a person (opening the conversation if needed)."""
        ...
