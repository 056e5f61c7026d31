"""Block Kit input blocks for the neutral inputs of a card (part of the Block Kit renderer).

Every input block has ``block_id == action_id == input id``, so a listener reads an answer
at ``view.state.values[id][id]`` (``bot.handlers.slack.state.form_values`` relies on it).

* ``TextInput`` -> ``plain_text_input`` (``max_length`` at most 3,000);
* ``ChoiceInput`` -> ``radio_buttons`` / ``checkboxes`` up to 10 options, else
  ``static_select`` / ``multi_static_select`` (first 100 options, then a note);
* ``PeopleInput`` -> ``users_select`` / ``multi_users_select``;
* ``DateInput`` -> ``datepicker`` (an initial value that is not ``YYYY-MM-DD`` is dropped);
* ``FileInput`` -> ``file_input`` (``max_files`` 1 to 10, ``filetypes`` without dots).

Initial text is a field's content, not a text object: it is cut, never escaped (Slack hands
it back exactly as shown in the box).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.cards import ChoiceInput, DateInput, FileInput, Input, Option, PeopleInput, TextInput
from bot.handlers.slack.blockkit_text import (
    EMPTY,
    MAX_FILES,
    MAX_HINT,
    MAX_ID,
    MAX_INPUT_LENGTH,
    MAX_LABEL,
    MAX_OPTION_TEXT,
    MAX_OPTION_VALUE,
    MAX_OPTIONS,
    MAX_PLACEHOLDER,
    MAX_RADIO_OPTIONS,
    MAX_SECTION_TEXT,
    cut,
    more_note,
    plain,
)

Block = dict[str, Any]


def input_blocks(field: Input) -> list[Block]:
    """The input block for one input (plus a note when options had to be left out)."""
    if isinstance(field, ChoiceInput) and not field.options:
        return [{"type": "section", "text": plain(field.label, MAX_SECTION_TEXT)}]
    block: Block = {
        "type": "input",
        "block_id": field.id[:MAX_ID],
        "label": plain(field.label, MAX_LABEL),
        "optional": not field.required,
        "element": {**_element(field), "action_id": field.id[:MAX_ID]},
    }
    if field.hint.strip():
        block["hint"] = plain(field.hint, MAX_HINT)
    hidden = len(field.options) - MAX_OPTIONS if isinstance(field, ChoiceInput) else 0
    return [block, more_note(hidden, " options")] if hidden > 0 else [block]


def _element(field: Input) -> Block:
    match field:
        case TextInput():
            return _text_input(field)
        case ChoiceInput():
            return _choice(field)
        case PeopleInput() if field.multiple:
            initial: Block = {"initial_users": list(field.initial)} if field.initial else {}
            return {"type": "multi_users_select", **initial}
        case PeopleInput():
            initial = {"initial_user": field.initial[0]} if field.initial else {}
            return {"type": "users_select", **initial}
        case DateInput():
            initial = {"initial_date": field.initial} if _is_date(field.initial) else {}
            return {"type": "datepicker", **initial}
        case FileInput():
            return _file_input(field)


def _text_input(field: TextInput) -> Block:
    limit = max(1, min(field.max_length or MAX_INPUT_LENGTH, MAX_INPUT_LENGTH))
    element: Block = {
        "type": "plain_text_input",
        "multiline": field.multiline,
        "max_length": limit,
    }
    if field.initial:
        element["initial_value"] = cut(field.initial, limit)
    if field.placeholder.strip():
        element["placeholder"] = plain(field.placeholder, MAX_PLACEHOLDER)
    return element


def _choice(field: ChoiceInput) -> Block:
    options: dict[str, Block] = {}
    for option in field.options[:MAX_OPTIONS]:
        options.setdefault(_option_value(option.value), _option(option))
    few = len(options) <= MAX_RADIO_OPTIONS
    if field.multiple:
        kind = "checkboxes" if few else "multi_static_select"
    else:
        kind = "radio_buttons" if few else "static_select"
    wanted = dict.fromkeys(_option_value(value) for value in field.initial)
    chosen = [options[value] for value in wanted if value in options]
    element: Block = {"type": kind, "options": list(options.values())}
    if chosen and field.multiple:
        element["initial_options"] = chosen
    elif chosen:
        element["initial_option"] = chosen[0]
    return element


def _option_value(value: str) -> str:
    # Option values are pack ids, far under 150 characters; cut only so Slack accepts the view.
    return value[:MAX_OPTION_VALUE] or EMPTY


def _option(option: Option) -> Block:
    return {"text": plain(option.label, MAX_OPTION_TEXT), "value": _option_value(option.value)}


def _file_input(field: FileInput) -> Block:
    element: Block = {"type": "file_input", "max_files": max(1, min(field.max_files, MAX_FILES))}
    types = [kind.strip().lstrip(".").lower() for kind in field.filetypes if kind.strip(" .")]
    return element | ({"filetypes": types} if types else {})


def _is_date(value: str) -> bool:
    try:
        return len(value) == 10 and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False
