"""Adaptive Card 1.5 renderer: a neutral ``Card`` as the JSON Teams shows (plain dicts only).

No botbuilder here: this module builds JSON, so it survives a change of Teams SDK.

What the Teams adapter can rely on:

* buttons and the submit are ``Action.Execute`` with ``verb`` = the ``ActionRef`` name
  (``"button"`` when the value is not one) and ``data`` = ``{"action": Button.value}``, plus
  ``"metadata": Card.metadata`` when the card has metadata. Teams merges input values into
  ``data`` by input id, so ``action`` and ``metadata`` must not be used as input ids;
* URL buttons are ``Action.OpenUrl``; a URL that is not http(s) or mailto is left out;
* the people picker is ``Input.ChoiceSet`` with ``choices.data`` = Data.Query on
  ``graph.microsoft.com/users`` (a Teams host feature, not in the 1.5 schema); its value is a
  comma-joined list of AAD object ids;
* a ``FileInput`` becomes words asking for the files as attachments to the next chat message;
* a field error shows in red under its input, and is its ``errorMessage`` too;
* a card over 28,000 bytes is first rendered again with its texts and facts cut shorter
  (and a line saying so); if that is not enough, texts and facts are left out from the end
  with a note of how many, and inputs and buttons stay: a form that cannot be answered or a
  decision with no buttons helps nobody. Only when inputs and buttons alone are too big are
  trailing ones left out too. Actions and metadata are kept whole. Nothing here raises for
  content.
"""

from __future__ import annotations

import datetime as dt
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
    Input,
    Link,
    PeopleInput,
    Text,
    TextInput,
)
from bot.handlers.fitting import leave_out
from bot.handlers.teams.adaptive_text import (
    MAX_BUTTON_TITLE,
    MAX_CARD_BYTES,
    MAX_CHOICE_TITLE,
    MAX_ERROR,
    MAX_FACT_TITLE,
    MAX_FACT_VALUE,
    MAX_FALLBACK,
    MAX_INPUT_LENGTH,
    MAX_LABEL,
    MAX_PLACEHOLDER,
    MAX_TEXT,
    MAX_TITLE,
    card_size,
    cut,
    escape_adaptive,
    markdown,
    plain,
    safe_url,
)

__all__ = ["ADAPTIVE_CARD_CONTENT_TYPE", "as_attachment", "escape_adaptive", "render"]

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
PEOPLE_QUERY = {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}

Item = dict[str, Any]

_TEXT_STYLES: dict[str, Item] = {
    "heading": {"size": "Large", "weight": "Bolder", "style": "heading"},
    "muted": {"isSubtle": True},
    "alert": {"color": "Attention"},
    "good": {"color": "Good"},
}
# Teams has no "danger" button style in 1.5: map to destructive (and primary to positive).
_BUTTON_STYLES = {"primary": "positive", "danger": "destructive"}


# A card over MAX_CARD_BYTES is rendered again with every text and fact value (but alerts)
# cut to each of these in turn (characters), until it fits; the neutral card keeps the
# whole text.
SHORTER = (1000, 400, 150)
SHORTENED = "Some long text is shortened here to fit in Teams. The whole of it is kept."
INTERACTIVE = frozenset({"ActionSet", "Input.Text", "Input.ChoiceSet", "Input.Date"})


def render(card: Card) -> dict[str, Any]:
    """Render a card as an Adaptive Card 1.5 for Teams.

    Returns:
        The card JSON (``as_attachment`` wraps it for an activity), under 28,000 bytes
        unless its actions and metadata alone are larger.
    """
    result = _render(card, MAX_TEXT)
    for limit in SHORTER:
        if card_size(result) <= MAX_CARD_BYTES:
            return result
        result = _render(card, limit)
    return _fit_size(result)


def _render(card: Card, limit: int) -> dict[str, Any]:
    """The card with each text and fact value cut to ``limit`` characters at most."""
    title = [_text_block(card.title, "heading", MAX_TITLE)] if card.title.strip() else []
    if limit < MAX_TEXT:
        title.append(_text_block(SHORTENED, "muted"))
    submit = _action(card.submit, card.metadata) if card.submit is not None else None
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": "1.5",
        "body": title + _body(card.elements, card.metadata, limit),
        "actions": [submit] if submit is not None else [],
        "fallbackText": markdown(card.summary(), MAX_FALLBACK),
        "msteams": {"width": "Full"},
    }


def as_attachment(card_json: dict[str, Any]) -> dict[str, Any]:
    """Wrap a rendered card as a Bot Framework attachment."""
    return {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "content": card_json}


def _body(elements: tuple[object, ...], metadata: str, limit: int) -> list[Item]:
    items: list[Item] = []
    separator = False
    for element in elements:
        if isinstance(element, Divider):
            separator = True  # a rule above the next element; a trailing one shows nothing
            continue
        rendered = _element(element, metadata, limit)
        if rendered and separator:
            rendered[0]["separator"] = True
            separator = False
        items.extend(rendered)
    return items


def _element(element: object, metadata: str, limit: int) -> list[Item]:
    match element:
        case Text():
            # What is wrong with a page is never shortened: the person must read it whole.
            whole = MAX_TEXT if element.style == "alert" else limit
            return [_text_block(element.text, element.style, whole)] if element.text.strip() else []
        case Fields():
            return [_fact_set(element, min(limit, MAX_FACT_VALUE))] if element.items else []
        case Link():
            return [_link(element)]
        case Actions():
            actions = [a for b in element.buttons if (a := _action(b, metadata)) is not None]
            return [{"type": "ActionSet", "actions": actions}] if actions else []
        case TextInput() | ChoiceInput() | PeopleInput() | DateInput() | FileInput():
            return _input(element, limit)
        case _:
            return [_text_block(_summary(element), limit=limit)]


def _summary(element: object) -> str:
    """Words for an element this renderer does not know: its text or label, else its kind."""
    for name in ("text", "label", "title"):
        value = getattr(element, name, None)
        if isinstance(value, str) and value.strip():
            return value
    return type(element).__name__


def _text_block(text: str, style: str = "plain", limit: int = MAX_TEXT) -> Item:
    return {
        "type": "TextBlock",
        "text": markdown(text, limit),
        "wrap": True,
        **_TEXT_STYLES.get(style, {}),
    }


def _fact_set(fields: Fields, limit: int) -> Item:
    facts = [
        {"title": markdown(label, MAX_FACT_TITLE), "value": markdown(value, limit)}
        for label, value in fields.items
    ]
    return {"type": "FactSet", "facts": facts}


def _link(link: Link) -> Item:
    url = safe_url(link.url)
    label = " ".join(link.label.split()) or link.url  # a link label cannot span lines
    if url is None:
        return _text_block(label)
    # The URL is trusted pack content; the label is escaped, so it cannot end the link early.
    return {
        "type": "TextBlock",
        "text": f"[{markdown(label, MAX_LABEL)}]({url})",
        "wrap": True,
    }


def _action(button: Button, metadata: str) -> Item | None:
    action: Item = {"title": plain(button.label, MAX_BUTTON_TITLE)}
    if button.url is not None:
        url = safe_url(button.url)
        if url is None:
            return None
        action = {"type": "Action.OpenUrl", **action, "url": url}
    else:
        data = {"action": button.value} | ({"metadata": metadata} if metadata else {})
        action = {"type": "Action.Execute", **action, "verb": _verb(button.value), "data": data}
    if button.style in _BUTTON_STYLES:
        action["style"] = _BUTTON_STYLES[button.style]
    return action


def _verb(value: str) -> str:
    try:
        return ActionRef.decode(value).name.value
    except ActionCodecError:
        return "button"


def _input(field: Input, limit: int) -> list[Item]:
    if isinstance(field, FileInput):
        # Teams bots receive files as chat attachments: the words ask for them.
        words = "\n".join(part for part in (field.label, field.hint) if part)
        items = [_text_block(words, limit=limit)]
    else:
        items = [_input_element(field)]
        if field.hint.strip():
            items.append({**_text_block(field.hint, "muted", limit), "spacing": "None"})
    if field.error:
        if not isinstance(field, FileInput):
            items[0]["errorMessage"] = plain(field.error, MAX_ERROR)
        items.insert(1, {**_text_block(field.error, "alert"), "spacing": "None"})
    return items


def _input_element(field: TextInput | ChoiceInput | PeopleInput | DateInput) -> Item:
    common: Item = {"id": field.id, "label": plain(field.label, MAX_LABEL)}
    common["isRequired"] = field.required
    match field:
        case TextInput():
            return {"type": "Input.Text", **common, **_text_input(field)}
        case ChoiceInput():
            return {"type": "Input.ChoiceSet", **common, **_choice_set(field)}
        case PeopleInput():
            people: Item = {"choices": [], "choices.data": dict(PEOPLE_QUERY)}
            people["isMultiSelect"] = field.multiple
            return {"type": "Input.ChoiceSet", **common, **people, **_value(field.initial)}
        case DateInput():
            date = field.initial if _is_date(field.initial) else ""
            return {"type": "Input.Date", **common, **_value((date,))}


def _value(values: tuple[str, ...]) -> Item:
    joined = ",".join(value for value in values if value)
    return {"value": joined} if joined else {}


def _is_date(value: str) -> bool:
    try:
        return len(value) == 10 and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _text_input(field: TextInput) -> Item:
    limit = max(1, min(field.max_length or MAX_INPUT_LENGTH, MAX_INPUT_LENGTH))
    text: Item = {"isMultiline": field.multiline, "maxLength": limit}
    if field.initial:
        text["value"] = cut(field.initial, limit)  # a field's content, not markup
    if field.placeholder.strip():
        text["placeholder"] = plain(field.placeholder, MAX_PLACEHOLDER)
    return text


def _choice_set(field: ChoiceInput) -> Item:
    choices = [{"title": plain(o.label, MAX_CHOICE_TITLE), "value": o.value} for o in field.options]
    values = {o.value for o in field.options}
    chosen = [value for value in field.initial if value in values]
    return {
        "choices": choices,
        "style": "expanded" if len(choices) <= 5 else "compact",
        "isMultiSelect": field.multiple,
        "wrap": True,
        **_value(tuple(chosen if field.multiple else chosen[:1])),
    }


def _fit_size(card: dict[str, Any]) -> dict[str, Any]:
    """Leave out texts and facts from the end, keeping inputs and buttons, until the card is
    under 28,000 bytes; then, if inputs and buttons alone are too big, trailing elements."""
    size = card_size(card)
    if size <= MAX_CARD_BYTES:
        return card
    body: list[Item] = card["body"]
    shown = [index for index, item in enumerate(body) if item.get("type") not in INTERACTIVE]
    over = size + card_size(_more_note(len(body))) + 2 - MAX_CARD_BYTES
    left_out: set[int] = set()
    for index in reversed(shown):  # the sizes tell roughly how many; the card itself decides
        left_out.add(index)
        over -= card_size(body[index]) + 2  # the item and the ", " after it
        if over <= 0:
            fitted = {**card, "body": leave_out(body, left_out, _more_note(len(left_out)))}
            if card_size(fitted) <= MAX_CARD_BYTES:
                return fitted
    return _cut_the_end(card)


def _cut_the_end(card: dict[str, Any]) -> dict[str, Any]:
    """Drop trailing body elements (and say how many) until the card is under 28,000 bytes."""
    body: list[Item] = card["body"]
    budget = MAX_CARD_BYTES - card_size({**card, "body": [_more_note(len(body))]})
    kept = used = 0
    for item in body:
        used += card_size(item) + 2  # the ", " between items
        if used > budget:
            break
        kept += 1
    fitted = {**card, "body": [*body[:kept], _more_note(len(body) - kept)]}
    while kept and card_size(fitted) > MAX_CARD_BYTES:
        kept -= 1
        fitted = {**card, "body": [*body[:kept], _more_note(len(body) - kept)]}
    return fitted


def _more_note(hidden: int) -> Item:
    return {
        "type": "TextBlock",
        "text": f"… ({hidden} more not shown)",
        "wrap": True,
        "isSubtle": True,
    }
