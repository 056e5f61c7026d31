"""Is a signed body sent to ``/slack/events`` a Slack request at all? If not, a 400 says so.

bolt (1.30) indexes into the body while matching listeners: a body that is not JSON, a
``payload`` that is not a JSON object, or a view, user or action that is not an object makes
it answer 500. ``problem()`` reads the body with bolt's own parser and checks the few shapes
bolt and the listeners rely on, so such a request gets a 400 before bolt sees it. The route
checks the signature before this (401), so only Slack's own requests are ever parsed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from slack_bolt.request.internals import parse_body

# What marks a body as one of Slack's: interactivity and events carry a type, slash
# commands a command, and Slack's certificate check an ssl_check.
MARKERS = frozenset({"type", "command", "ssl_check"})
# Requests Slack sends with a ``trigger_id``, which the listeners open a modal with.
OPENERS = frozenset({"block_actions", "shortcut", "message_action"})


class _Shape(BaseModel):
    """Only the fields named are checked; everything else Slack sends passes untouched."""

    model_config = ConfigDict(extra="allow")


class User(_Shape):
    id: str
    name: str | None = None


class ViewState(_Shape):
    # block id -> action id -> element: what ``state.form_values`` reads.
    values: dict[str, dict[str, Any]] = {}


class View(_Shape):
    type: str
    id: str | None = None
    hash: str | None = None
    callback_id: str | None = None
    private_metadata: str | None = None
    state: ViewState | None = None


class Action(_Shape):
    action_id: str
    block_id: str | None = None


class Event(_Shape):
    type: str  # bolt matches event listeners on it


class Envelope(_Shape):
    type: str | None = None
    command: str | None = None
    text: str | None = None
    user: User | None = None
    user_id: str | None = None
    channel_id: str | None = None
    trigger_id: str | None = None
    callback_id: str | None = None
    view: View | None = None
    actions: Annotated[list[Action], Field(min_length=1)] | None = None  # bolt reads the first
    event: Event | None = None
    container: dict[str, Any] | None = None
    channel: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _opens_in_time(self) -> Envelope:
        """A command, press or shortcut can open a modal only with its ``trigger_id``."""
        if (self.command is not None or self.type in OPENERS) and not self.trigger_id:
            raise ValueError("trigger_id is missing")
        return self


def decode(raw: bytes) -> str | None:
    """The body as text (Slack always sends UTF-8, whatever the header says), or None."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def problem(text: str | None, content_type: str | None) -> str | None:
    """Why a body is not a Slack request (for a 400), or None when bolt may have it.

    Args:
        text: the request body as text (None when it was not UTF-8).
        content_type: the request's ``Content-Type`` without parameters.
    """
    if text is None:
        return "the body is not UTF-8 text"
    try:
        body = parse_body(text, content_type)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return "the body is not a form or JSON"
    if not isinstance(body, dict):
        return "the body is not an object"
    if MARKERS.isdisjoint(body):
        return "the body is not a Slack request"
    try:
        Envelope.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        if not where:  # the request as a whole: the validator's own words
            return f"the Slack request is malformed: {first['msg'][:80]}"
        return f"the Slack request is malformed at {where[:80]}"
    return None
