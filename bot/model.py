"""Neutral value types shared by the core and the platform adapters.

These carry identities and references between a platform adapter and the core without
either side knowing the other's SDK types. They are small frozen dataclasses so they can be
compared, hashed and stored as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    """The chat platforms the bot speaks on."""

    SLACK = "slack"
    TEAMS = "teams"


@dataclass(frozen=True)
class Actor:
    """A person acting through a platform.

    Args:
        platform: where the person is.
        user_id: the platform's stable id (Slack ``U…``; Teams AAD object id or ``29:…`` id).
        display_name: the name the platform shows, for timelines; may be empty.
        email: the person's e-mail address where the platform told us; used to match pack roles.
    """

    platform: Platform
    user_id: str
    display_name: str = ""
    email: str = ""

    @property
    def key(self) -> str:
        """A stable ``platform:user`` string for storage and role lookups."""
        return f"{self.platform.value}:{self.user_id}"

    @property
    def identities(self) -> list[str]:
        """How a policy pack can name this person: ``platform:user`` and their e-mail."""
        return [value for value in (self.key, self.email) if value]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "platform": self.platform.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Actor:
        return cls(
            platform=Platform(data["platform"]),
            user_id=data["user_id"],
            display_name=data.get("display_name", ""),
            email=data.get("email", ""),
        )


@dataclass(frozen=True)
class ConversationRef:
    """Where a message can be sent: a channel, a group chat or a direct message.

    For Teams, ``service_url`` and ``tenant_id`` are needed to reach the conversation; for a
    direct message to a person not yet in a conversation, ``conversation_id`` may be empty and
    ``user_id`` names the person.
    """

    platform: Platform
    conversation_id: str = ""
    user_id: str = ""
    service_url: str = ""
    tenant_id: str = ""
    bot_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "platform": self.platform.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversationRef:
        values = {k: v for k, v in data.items() if k != "platform"}
        return cls(platform=Platform(data["platform"]), **values)


@dataclass(frozen=True)
class MessageRef:
    """A message already posted, so it can be updated in place.

    ``message_id`` is the Slack ``ts`` or the Teams activity id.
    """

    conversation: ConversationRef
    message_id: str

    def to_json(self) -> dict[str, Any]:
        return {"conversation": self.conversation.to_json(), "message_id": self.message_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageRef:
        return cls(
            conversation=ConversationRef.from_json(data["conversation"]),
            message_id=data["message_id"],
        )


@dataclass(frozen=True)
class SessionKey:
    """Identifies one person's draft of one flow on one platform."""

    platform: Platform
    user_id: str
    flow: str


@dataclass(frozen=True)
class FileUpload:
    """A file a person attached, before it is fetched into the file store.

    ``download_url`` is fetched by the platform adapter (Slack with the bot token; Teams by
    the attachment's content URL).
    """

    name: str
    download_url: str
    mime_type: str = "application/octet-stream"
    size: int | None = None


@dataclass(frozen=True)
class ActionIn:
    """A button press or form submit, translated from a platform payload.

    Args:
        actor: who pressed.
        value: the encoded action (see ``bot.actions.ActionRef``).
        inputs: the form values submitted with the press, by input id.
        message: the card that carried the button, when there is one.
        files: files attached to the submit.
    """

    actor: Actor
    value: str
    inputs: dict[str, Any] = field(default_factory=dict)
    message: MessageRef | None = None
    files: tuple[FileUpload, ...] = ()


class RepeatedDelivery(Exception):
    """A platform delivered again a press or message already processed.

    Raised where the delivery's key is recorded with the change it makes (see
    ``bot.storage.repos.dedupe.record_delivery``): the first delivery made the change, so
    this one changes nothing and the person is not answered twice.
    """
