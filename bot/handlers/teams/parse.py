"""Reading Bot Framework activities into neutral values: actors, conversations, commands.

Teams identifies a person by an AAD object id (stable across chats, and what the people
picker returns) and by a ``29:`` id for the chat; the actor uses the AAD id, the
conversation reference keeps what is needed to message them back.
"""

from __future__ import annotations

import re
from typing import Any

from botbuilder.schema import Activity

from bot.flows.spec import typed
from bot.model import Actor, ConversationRef, Platform

CARD_ACTION = "adaptiveCard/action"  # the invoke of an Action.Execute press
# What an invoke delivered again is answered: the first delivery already did the work.
ALREADY_RECEIVED = {
    "statusCode": 200,
    "type": "application/vnd.microsoft.activity.message",
    "value": "Already received.",
}

_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


def actor_of(activity: Activity) -> Actor:
    """The person who sent the activity."""
    sender = activity.from_property
    user_id = (getattr(sender, "aad_object_id", None) or getattr(sender, "id", "")) or ""
    return Actor(
        platform=Platform.TEAMS,
        user_id=typed(str(user_id)),
        display_name=typed(str(getattr(sender, "name", "") or "")),
    )


def conversation_of(activity: Activity) -> ConversationRef:
    """Where the activity came from, with what is needed to send there later."""
    conversation = activity.conversation
    tenant = getattr(conversation, "tenant_id", None) or _tenant(activity)
    return ConversationRef(
        platform=Platform.TEAMS,
        # A channel @mention arrives as "<channel id>;messageid=<thread>": keep the channel.
        conversation_id=str(getattr(conversation, "id", "") or "").split(";messageid=")[0],
        user_id=str(getattr(activity.from_property, "id", "") or ""),
        service_url=str(activity.service_url or ""),
        tenant_id=str(tenant or ""),
        bot_id=str(getattr(activity.recipient, "id", "") or ""),
    )


def command_text(activity: Activity) -> str:
    """The message text as a command: mentions of the bot removed, spaces folded, lower case."""
    text = _MENTION.sub(" ", activity.text or "")
    return _SPACES.sub(" ", text).strip().lower()


def is_personal(activity: Activity) -> bool:
    """True in the one-to-one chat with the bot."""
    return getattr(activity.conversation, "conversation_type", None) == "personal"


def execute_data(value: Any) -> dict[str, Any]:
    """The ``data`` of an ``Action.Execute`` press, with the inputs Teams merged into it.

    Characters no one can type are taken out of its text (``bot.flows.spec.typed``).
    """
    action = getattr(value, "action", None)
    data = getattr(action, "data", None) if action is not None else None
    if data is None and isinstance(value, dict):
        data = (value.get("action") or {}).get("data")
    if not isinstance(data, dict):
        return {}
    return {str(key): typed(value) for key, value in data.items()}


def delivery_key(activity: Activity) -> str:
    """What makes a delivery of this activity the same one again: its id in its conversation.

    "" when the activity has no id (nothing to compare).
    """
    if not activity.id:
        return ""
    conversation = getattr(activity.conversation, "id", "") or ""
    return f"teams-activity:{conversation}:{activity.id}"


def is_card_action(value: Any) -> bool:
    """True when an ``adaptiveCard/action`` invoke carries ``{"action": {...}}`` as Teams sends."""
    return isinstance(value, dict) and isinstance(value.get("action"), dict)


def _tenant(activity: Activity) -> str:
    channel_data = activity.channel_data or {}
    if isinstance(channel_data, dict):
        return str((channel_data.get("tenant") or {}).get("id", ""))
    return ""
