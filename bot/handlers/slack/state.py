"""Reading Slack payloads into neutral values: actors and modal form state.

``view.state.values`` is read as raw dicts: slack-sdk's ``ViewState`` model cannot parse
``file_input`` state, and raw dicts are what Bolt hands listeners anyway. Every input block
is rendered with ``block_id == action_id == step id`` so state maps straight to answers.
"""

from __future__ import annotations

from typing import Any

from bot.model import Actor, ConversationRef, FileUpload, Platform


class FileSelection(list[dict[str, Any]]):
    """The files of a ``file_input`` (possibly none), told apart from other list answers."""


def actor_from(body: dict[str, Any]) -> Actor:
    """The person behind a command, shortcut, action or view payload."""
    user = body.get("user") or {}
    user_id = user.get("id") or body.get("user_id") or ""
    name = user.get("name") or user.get("username") or body.get("user_name") or ""
    return Actor(platform=Platform.SLACK, user_id=str(user_id), display_name=str(name))


def conversation_of(channel_id: str) -> ConversationRef:
    """A Slack channel (or DM channel) as a neutral conversation reference."""
    return ConversationRef(platform=Platform.SLACK, conversation_id=channel_id)


def person(user_id: str) -> ConversationRef:
    """A Slack user to direct-message (the messenger opens the DM)."""
    return ConversationRef(platform=Platform.SLACK, user_id=user_id)


def form_values(state: dict[str, Any]) -> dict[str, Any]:
    """Turn ``view.state.values`` into ``{step_id: value}``.

    Text gives a string; single choices a value; multiple choices and people lists; dates
    ``YYYY-MM-DD``; ``file_input`` the raw file objects (fetched later by the adapter).
    """
    values: dict[str, Any] = {}
    for block_id, actions in (state.get("values") or {}).items():
        for element in actions.values():
            values[block_id] = _element_value(element)
    return values


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type", "")
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return element.get("value") or ""
    if kind in ("radio_buttons", "static_select", "external_select"):
        selected = element.get("selected_option") or {}
        return selected.get("value", "")
    if kind in ("checkboxes", "multi_static_select", "multi_external_select"):
        return [o.get("value", "") for o in element.get("selected_options") or []]
    if kind == "users_select":
        return [element["selected_user"]] if element.get("selected_user") else []
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "datepicker":
        return element.get("selected_date") or ""
    if kind == "file_input":
        return FileSelection(element.get("files") or [])
    return element.get("value")


def uploads(files: list[dict[str, Any]]) -> tuple[FileUpload, ...]:
    """Slack file objects from a ``file_input`` as neutral uploads to fetch."""
    return tuple(
        FileUpload(
            name=str(f.get("name") or f.get("title") or f.get("id", "file")),
            download_url=str(f.get("url_private_download") or f.get("url_private", "")),
            mime_type=str(f.get("mimetype") or "application/octet-stream"),
            size=f.get("size"),
        )
        for f in files
    )
