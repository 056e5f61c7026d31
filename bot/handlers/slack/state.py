"""Reading Slack payloads into neutral values: actors and modal form state.

``view.state.values`` is read as raw dicts: slack-sdk's ``ViewState`` model cannot parse
``file_input`` state, and raw dicts are what Bolt hands listeners anyway. Every input block
is rendered with ``block_id == action_id == step id`` so state maps straight to answers.
A value of a shape Slack never sends is passed on as ``Malformed`` (the field refuses it),
and characters no one can type are taken out of text (``bot.flows.spec.typed``).
"""

from __future__ import annotations

from typing import Any

from bot.flows.spec import typed
from bot.model import Actor, ConversationRef, FileUpload, Platform


class FileSelection(list[dict[str, Any]]):
    """The files of a ``file_input`` (possibly none), told apart from other list answers."""


def actor_from(body: dict[str, Any]) -> Actor:
    """The person behind a command, shortcut, action or view payload."""
    user = body.get("user")
    user = user if isinstance(user, dict) else {}
    user_id = user.get("id") or body.get("user_id") or ""
    name = user.get("name") or user.get("username") or body.get("user_name") or ""
    return Actor(
        platform=Platform.SLACK, user_id=typed(str(user_id)), display_name=typed(str(name))
    )


def conversation_of(channel_id: str) -> ConversationRef:
    """A Slack channel (or DM channel) as a neutral conversation reference."""
    return ConversationRef(platform=Platform.SLACK, conversation_id=channel_id)


def person(user_id: str) -> ConversationRef:
    """A Slack user to direct-message (the messenger opens the DM)."""
    return ConversationRef(platform=Platform.SLACK, user_id=user_id)


class Malformed:
    """A value whose shape Slack never sends (an option that is not an object, say).

    It reaches the flow engine as it is, so the step refuses it on the field with a clear
    message; nothing here guesses what was meant.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"Malformed({type(self.raw).__name__})"


def form_values(state: Any) -> dict[str, Any]:
    """Turn ``view.state.values`` into ``{step_id: value}``.

    Text gives a string; single choices a value; multiple choices and people lists; dates
    ``YYYY-MM-DD``; ``file_input`` the raw file objects (fetched later by the adapter).
    """
    values: dict[str, Any] = {}
    blocks = state.get("values") if isinstance(state, dict) else None
    for block_id, actions in (blocks if isinstance(blocks, dict) else {}).items():
        if not isinstance(actions, dict):
            values[block_id] = Malformed(actions)
            continue
        for element in actions.values():
            value = _element_value(element)
            values[block_id] = value if isinstance(value, FileSelection) else typed(value)
    return values


def _element_value(element: Any) -> Any:
    if not isinstance(element, dict):
        return Malformed(element)
    kind = element.get("type", "")
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        value = element.get("value")
        return "" if value is None else value
    if kind in ("radio_buttons", "static_select", "external_select"):
        return _option_value(element.get("selected_option"))
    if kind in ("checkboxes", "multi_static_select", "multi_external_select"):
        chosen = element.get("selected_options") or []
        if not isinstance(chosen, list):
            return Malformed(chosen)
        return [_option_value(option) for option in chosen]
    if kind == "users_select":
        return [element["selected_user"]] if element.get("selected_user") else []
    if kind == "multi_users_select":
        people = element.get("selected_users") or []
        return list(people) if isinstance(people, list) else Malformed(people)
    if kind == "datepicker":
        return element.get("selected_date") or ""
    if kind == "file_input":
        files = element.get("files") or []
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            return Malformed(files)
        return FileSelection(files)
    return element.get("value")


def _option_value(option: Any) -> Any:
    """An option object's ``value`` ("" when nothing is chosen)."""
    if option is None:
        return ""
    return option.get("value", "") if isinstance(option, dict) else Malformed(option)


def uploads(files: list[dict[str, Any]]) -> tuple[FileUpload, ...]:
    """Slack file objects from a ``file_input`` as neutral uploads to fetch."""
    return tuple(
        FileUpload(
            name=str(f.get("name") or f.get("title") or f.get("id", "file")),
            download_url=str(f.get("url_private_download") or f.get("url_private", "")),
            mime_type=str(f.get("mimetype") or "application/octet-stream"),
            size=_size(f.get("size")),
        )
        for f in files
    )


def _size(value: Any) -> int | None:
    """The size Slack gave (bytes), or None when it gave none that is a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
