"""The neutral card vocabulary: what the core says, before a platform renders it.

The core builds a ``Card`` from these frozen dataclasses; ``bot.handlers.slack.blockkit``
renders it as Block Kit and ``bot.handlers.teams.adaptive`` as an Adaptive Card 1.5. Every
string here is treated as plain text by the renderers (escaped so it cannot ping, link or
format) unless it is a ``Link``, whose URL comes from the policy pack, never from a person.

Inputs carry an optional ``error``: the message shown on that field when a submit was
refused (Slack ``response_action: errors`` for modals; the same card re-sent on Teams).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TextStyle = Literal["plain", "heading", "muted", "alert", "good"]
ButtonStyle = Literal["default", "primary", "danger"]


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text. ``style`` changes weight or colour, never meaning."""

    text: str
    style: TextStyle = "plain"


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown as a compact grid (Slack section fields; Teams FactSet)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Link:
    """A link whose URL is trusted content (from the policy pack), with a plain-text label."""

    label: str
    url: str


@dataclass(frozen=True)
class Divider:
    """A horizontal rule between parts of a card."""


@dataclass(frozen=True)
class Button:
    """A button. ``value`` is an encoded ``bot.actions.ActionRef`` (ids only, no personal data).

    A button with ``url`` opens a link (trusted pack content) instead of sending an action.
    """

    label: str
    value: str = ""
    style: ButtonStyle = "default"
    url: str | None = None


@dataclass(frozen=True)
class Actions:
    """A row of buttons."""

    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Option:
    """One choice of a choice input."""

    value: str
    label: str


@dataclass(frozen=True)
class TextInput:
    """A free-text field."""

    id: str
    label: str
    multiline: bool = False
    required: bool = True
    max_length: int | None = None
    initial: str = ""
    placeholder: str = ""
    hint: str = ""
    error: str | None = None


@dataclass(frozen=True)
class ChoiceInput:
    """Single or multiple choice from fixed options."""

    id: str
    label: str
    options: tuple[Option, ...]
    multiple: bool = False
    required: bool = True
    initial: tuple[str, ...] = ()
    hint: str = ""
    error: str | None = None


@dataclass(frozen=True)
class PeopleInput:
    """Choose a person from the workspace or tenant (Slack users_select; Teams people picker)."""

    id: str
    label: str
    required: bool = True
    multiple: bool = False
    initial: tuple[str, ...] = ()
    hint: str = ""
    error: str | None = None


@dataclass(frozen=True)
class DateInput:
    """A calendar date (ISO ``YYYY-MM-DD``)."""

    id: str
    label: str
    required: bool = True
    initial: str = ""
    hint: str = ""
    error: str | None = None


@dataclass(frozen=True)
class FileInput:
    """Files attached to a step. Slack renders a ``file_input``; Teams asks for chat attachments."""

    id: str
    label: str
    required: bool = False
    max_files: int = 10
    filetypes: tuple[str, ...] = ()
    hint: str = ""
    error: str | None = None


Input = TextInput | ChoiceInput | PeopleInput | DateInput | FileInput
Element = Text | Fields | Link | Divider | Actions | Input


@dataclass(frozen=True)
class Card:
    """A whole card or form page.

    Args:
        title: shown as the heading (and the modal title on Slack, cut to 24 characters).
        elements: the body, in order.
        submit: the button that submits the inputs (a modal's submit on Slack).
        cancel_label: the modal's close button on Slack; ignored on Teams.
        fallback: plain-text summary for notifications and screen readers.
        metadata: private state the platform round-trips (Slack ``private_metadata``).
    """

    title: str
    elements: tuple[Element, ...] = ()
    submit: Button | None = None
    cancel_label: str = "Cancel"
    fallback: str = ""
    metadata: str = ""

    @property
    def inputs(self) -> tuple[Input, ...]:
        """The input elements of the card, in order."""
        kinds = (TextInput, ChoiceInput, PeopleInput, DateInput, FileInput)
        return tuple(e for e in self.elements if isinstance(e, kinds))

    def summary(self) -> str:
        """The fallback text, or the title when none was given."""
        return self.fallback or self.title


_ELEMENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Text,
        Fields,
        Link,
        Divider,
        Button,
        Actions,
        Option,
        TextInput,
        ChoiceInput,
        PeopleInput,
        DateInput,
        FileInput,
        Card,
    )
}


def to_json(value: object) -> object:
    """Serialise a card (or any element of one) to JSON-safe data, tagged by type.

    The outbox stores cards this way, so delivery can render them for either platform later.
    """
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    cls_name = type(value).__name__
    if cls_name in _ELEMENT_TYPES and hasattr(value, "__dataclass_fields__"):
        data: dict[str, object] = {"type": cls_name}
        for name in value.__dataclass_fields__:
            data[name] = to_json(getattr(value, name))
        return data
    return value


def from_json(data: object) -> object:
    """Rebuild what ``to_json`` wrote. Lists come back as tuples, as the dataclasses expect."""
    if isinstance(data, list):
        return tuple(from_json(v) for v in data)
    if isinstance(data, dict) and data.get("type") in _ELEMENT_TYPES:
        cls = _ELEMENT_TYPES[str(data["type"])]
        kwargs = {k: from_json(v) for k, v in data.items() if k != "type"}
        return cls(**kwargs)
    return data


def card_to_json(card: Card) -> dict[str, Any]:
    """Serialise a whole card (typed for callers that store it as a JSON object)."""
    data = to_json(card)
    assert isinstance(data, dict)
    return data


def card_from_json(data: object) -> Card:
    """Rebuild a ``Card`` from ``to_json`` output, or raise ``TypeError``."""
    card = from_json(data)
    if not isinstance(card, Card):
        raise TypeError("stored value is not a card")
    return card
