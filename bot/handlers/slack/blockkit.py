"""Block Kit renderer: a neutral ``Card`` as chat.postMessage arguments, a modal view, or errors.

Built as plain dicts rather than slack-sdk's block models: the models (3.47) have no
``file_input`` element (they log and drop it) and their validators raise on overflow where a
card must be cut; the tests validate every block and view with ``Block.parse`` and ``View``.

User text goes into ``plain_text`` objects with ``emoji: false`` wherever Block Kit allows
(header, section text and fields, context, buttons, options, labels), because plain text
cannot format at all; mrkdwn is used only for links (``<url|label>``) and the notification
``text``, escaped with ``escape_mrkdwn``. See ``blockkit_text`` for the escaping itself.

What the Slack adapter can rely on:

* input blocks have ``block_id == action_id == input id``: read ``view.state.values[id][id]``;
* buttons have ``action_id`` ``"<action name>:<index>"`` (``"button:<i>"`` when the value is
  not an ``ActionRef``, ``"link:<i>"`` for URL buttons, which Slack still reports and which
  must be acked) and ``value`` = ``Button.value`` unchanged;
* a modal's submit button carries no value: the state is ``private_metadata`` = ``Card.metadata``;
* field errors travel only through ``render_errors`` (``response_action: errors``);
* a button value over 2,000 characters, metadata over 3,000 or a callback id over 255 raise
  ``ValueError`` (cutting them would corrupt state); content is cut, never refused.
"""

from __future__ import annotations

from typing import Any

from bot.actions import ActionCodecError, ActionRef
from bot.cards import (
    Actions,
    Button,
    Card,
    ChoiceInput,
    DateInput,
    Divider,
    Fields,
    FileInput,
    Link,
    PeopleInput,
    Text,
    TextInput,
)
from bot.handlers.fitting import leave_out
from bot.handlers.slack.blockkit_inputs import input_blocks
from bot.handlers.slack.blockkit_text import (
    EMPTY,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_BUTTONS,
    MAX_CONTEXT_TEXT,
    MAX_ERROR_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_ID,
    MAX_MESSAGE_BLOCKS,
    MAX_METADATA,
    MAX_MODAL_BLOCKS,
    MAX_MODAL_TITLE,
    MAX_SECTION_TEXT,
    escape_mrkdwn,
    escape_plain,
    fit,
    more_note,
    plain,
    safe_url,
)

__all__ = ["escape_mrkdwn", "render_errors", "render_message", "render_modal"]

Block = dict[str, Any]

_STYLE_PREFIX = {"alert": "⚠️ ", "good": "✅ "}


def render_message(card: Card) -> dict[str, Any]:
    """Render a card as ``{"text": ..., "blocks": [...]}`` for chat.postMessage / chat.update.

    ``text`` is the escaped fallback Slack shows in notifications; the submit button, which
    a message cannot have, becomes the last button row. At most 50 blocks.
    """
    blocks = _title(card.title) + _body(card.elements)
    if card.submit is not None:
        blocks += _buttons((card.submit,))
    text = fit(card.summary(), MAX_FALLBACK_TEXT, escape_mrkdwn) if card.summary() else EMPTY
    return {"text": text, "blocks": _limit(blocks, MAX_MESSAGE_BLOCKS)}


def render_modal(card: Card, *, callback_id: str) -> dict[str, Any]:
    """Render a card as a modal ``view`` for views.open, views.update and views.push.

    Args:
        card: the page to show; ``card.metadata`` becomes ``private_metadata``.
        callback_id: what the view_submission listener matches.

    Returns:
        The view; the title is cut to 24 characters (the whole title is repeated as a
        header when it had to be cut), at most 100 blocks.

    Raises:
        ValueError: metadata over 3,000 or a callback id over 255 characters.
    """
    if len(card.metadata) > MAX_METADATA:
        raise ValueError(f"card metadata is {len(card.metadata)} characters, over {MAX_METADATA}")
    if len(callback_id) > MAX_ID:
        raise ValueError(f"callback_id is over {MAX_ID} characters")
    title = plain(card.title, MAX_MODAL_TITLE)
    blocks = [] if title["text"] == escape_plain(card.title) else _title(card.title)
    blocks += _body(card.elements)
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": title,
        "close": plain(card.cancel_label, MAX_MODAL_TITLE),
        "blocks": _limit(blocks or [_section(card.title)], MAX_MODAL_BLOCKS),
    }
    if card.submit is not None or card.inputs:
        view["submit"] = plain(card.submit.label if card.submit else "Submit", MAX_MODAL_TITLE)
    if card.metadata:
        view["private_metadata"] = card.metadata
    return view


def render_errors(card: Card) -> dict[str, Any]:
    """The ``response_action: errors`` answer for a refused modal submit: one per input."""
    errors = {
        field.id[:MAX_ID]: fit(field.error, MAX_ERROR_TEXT) if field.error.strip() else EMPTY
        for field in card.inputs
        if field.error
    }
    return {"response_action": "errors", "errors": errors}


def _title(title: str) -> list[Block]:
    return [_header(title)] if title.strip() else []


def _body(elements: tuple[object, ...]) -> list[Block]:
    return [block for element in elements for block in _element(element)]


def _element(element: object) -> list[Block]:
    match element:
        case Text():
            return _text(element)
        case Fields():
            return _fields(element)
        case Link():
            return [_link(element)]
        case Divider():
            return [{"type": "divider"}]
        case Actions():
            return _buttons(element.buttons)
        case TextInput() | ChoiceInput() | PeopleInput() | DateInput() | FileInput():
            return input_blocks(element)
        case _:
            return _text(Text(_summary(element)))


def _summary(element: object) -> str:
    """Words for an element this renderer does not know: its text or label, else its kind."""
    for name in ("text", "label", "title"):
        value = getattr(element, name, None)
        if isinstance(value, str) and value.strip():
            return value
    return type(element).__name__


def _text(text: Text) -> list[Block]:
    if not text.text.strip():
        return []
    match text.style:
        case "heading":
            return [_header(text.text)]
        case "muted":
            return [{"type": "context", "elements": [plain(text.text, MAX_CONTEXT_TEXT)]}]
        case _:
            return [_section(text.text, _STYLE_PREFIX.get(text.style, ""))]


def _header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def _section(text: str, prefix: str = "") -> Block:
    body = plain(text, MAX_SECTION_TEXT - len(prefix))
    return {"type": "section", "text": {**body, "text": prefix + body["text"]}}


def _fields(fields: Fields) -> list[Block]:
    texts = [_field(label, value) for label, value in fields.items]
    return [
        {"type": "section", "fields": texts[start : start + MAX_FIELDS]}
        for start in range(0, len(texts), MAX_FIELDS)
    ]


def _field(label: str, value: str) -> Block:
    head = fit(label, MAX_FIELD_TEXT // 4) if label.strip() else ""
    room = MAX_FIELD_TEXT - len(head) - 1
    body = fit(value, room) if value.strip() else EMPTY
    return {"type": "plain_text", "text": f"{head}\n{body}" if head else body, "emoji": False}


def _link(link: Link) -> Block:
    url = safe_url(link.url)
    label = link.label if link.label.strip() else link.url
    if url is None or len(url) > MAX_SECTION_TEXT // 2:
        return _section(label)
    target = url.replace("&", "&amp;")
    # The URL is trusted pack content; the label is escaped and cannot close the link early.
    text = fit(label.replace("|", "∣"), MAX_SECTION_TEXT - len(target) - 3, escape_mrkdwn)
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"<{target}|{text}>", "verbatim": True},
    }


def _buttons(buttons: tuple[Button, ...]) -> list[Block]:
    elements = [e for index, b in enumerate(buttons) if (e := _button(b, index)) is not None]
    return [
        {"type": "actions", "elements": elements[start : start + MAX_BUTTONS]}
        for start in range(0, len(elements), MAX_BUTTONS)
    ]


def _button(button: Button, index: int) -> Block | None:
    if len(button.value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value is over {MAX_BUTTON_VALUE} characters")
    element: Block = {"type": "button", "text": plain(button.label, MAX_BUTTON_TEXT)}
    if button.url is not None:
        url = safe_url(button.url)
        if url is None:
            return None  # not a link we can offer; a button that does nothing helps nobody
        element |= {"action_id": f"link:{index}", "url": url}
    else:
        element["action_id"] = f"{_action_name(button.value)}:{index}"[-MAX_ID:]
    if button.value:
        element["value"] = button.value
    if button.style != "default":
        element["style"] = button.style
    return element


def _action_name(value: str) -> str:
    try:
        return ActionRef.decode(value).name.value
    except ActionCodecError:
        return "button"


# Blocks a person acts with: a card over the block limit loses others first, since a
# decision without its buttons, or a form without its inputs, helps nobody.
INTERACTIVE = frozenset({"actions", "input"})


def _limit(blocks: list[Block], limit: int) -> list[Block]:
    """At most ``limit`` blocks: texts left out from the end (a note of how many where the
    first was), buttons and inputs kept; if those alone are too many, trailing blocks too."""
    if len(blocks) <= limit:
        return blocks
    hidden = len(blocks) - limit + 1  # and the note takes one place
    shown = [index for index, block in enumerate(blocks) if block["type"] not in INTERACTIVE]
    if len(shown) < hidden:
        return [*blocks[: limit - 1], more_note(hidden)]
    return leave_out(blocks, set(shown[-hidden:]), more_note(hidden))
