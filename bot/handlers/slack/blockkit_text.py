"""Text for Block Kit: escaping so a person's words cannot ping, link or format, and cutting.

Slack decodes ``&amp; &lt; &gt;`` in every text object, ``plain_text`` included, and treats
``<...>`` as control sequences (``<!channel>``, ``<@U123>``, ``<http://x|y>``), so every
user string is entity-escaped wherever it goes. On top of that:

* ``escape_plain`` (for ``plain_text`` objects, where Slack draws no formatting) also puts an
  invisible word joiner (U+2060) after ``@`` before a word, before the ``:`` of ``://`` and
  ``mailto:``, and after ``.`` before a letter or digit, so ``@here``, ``http://x``,
  ``evil.example`` and ``bob@evil.example`` are never seen as mentions or links. Display is
  unchanged.
* ``escape_mrkdwn`` (only for link labels and the notification text) also swaps ``* _ ~ ```
  for look-alike characters, the way jsx-slack's ``<Escape>`` does: Slack mrkdwn has no
  escape character, and zero-width spaces around a marker *force* formatting (they count as
  word boundaries), so inserting them would not work. A quote marker at a line start gets a
  soft hyphen in front, and a joiner goes before the closing colon of ``:emoji:`` codes.
  Look-alikes change the characters (not how they look) when the text is copied.

Lengths are Slack's, counted on the escaped string (that is what Slack measures). ``fit``
cuts the *raw* text, so an entity or a joiner is never split, and ends it with "…".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

WORD_JOINER = "\u2060"
SOFT_HYPHEN = "\u00ad"
ELLIPSIS = "…"
EMPTY = "—"  # Slack rejects empty text objects; shown where a required text is blank

# Slack's limits (Block Kit reference), in characters unless named otherwise.
MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTONS = 25
MAX_URL = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_RADIO_OPTIONS = 10  # radio_buttons and checkboxes take at most 10 options
MAX_LABEL = 2000
MAX_HINT = 2000
MAX_PLACEHOLDER = 150
MAX_INPUT_LENGTH = 3000
MAX_MODAL_TITLE = 24  # also the submit and close labels
MAX_METADATA = 3000
MAX_ID = 255
MAX_FILES = 10
MAX_ERROR_TEXT = 2000
MAX_FALLBACK_TEXT = 3000

_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_MENTION_AT = re.compile(r"@(?=\w)")
_LINK_COLON = re.compile(r"(?<=\w):(?=//)|(?<=mailto):", re.IGNORECASE)
_EMOJI_CODE = re.compile(r":([\w+'-]+)(?=:)")
_DOMAIN_DOT = re.compile(r"\.(?=[^\W_])")
_URL_SCHEMES = ("https://", "http://", "mailto:")
_URL_UNSAFE = re.compile(r'[\s<>|"\\^`{}]')
_QUOTE_START = re.compile(r"^([ \t]*)&gt;", re.MULTILINE)


def _defuse(text: str) -> str:
    """Break mentions and autolinks with invisible word joiners."""
    # Each pattern needs its character; most labels have none, and a look is far cheaper
    # than a regex pass (every text object of every view goes through here).
    if "@" in text:
        text = _MENTION_AT.sub("@" + WORD_JOINER, text)
    if ":" in text:
        text = _LINK_COLON.sub(WORD_JOINER + ":", text)
    if "." in text:
        text = _DOMAIN_DOT.sub("." + WORD_JOINER, text)
    return text


def escape_plain(text: str) -> str:
    """Escape a person's text for a ``plain_text`` object (use with ``emoji: false``)."""
    return _defuse(text.translate(_CONTROL))


def escape_mrkdwn(text: str) -> str:
    """Escape a person's text for a ``mrkdwn`` object so it shows literally.

    ``&``, ``<`` and ``>`` become entities (Slack's rule), so ``<!channel>``, ``<@U123>`` and
    ``<http://evil|click>`` cannot ping or link; ``@here``, bare URLs and domains are broken
    with word joiners; ``* _ ~ ``` become look-alikes; a leading ``>`` cannot start a quote.
    """
    text = escape_plain(text.translate(_LOOKALIKES))
    if ":" in text:
        text = _EMOJI_CODE.sub(r":\1" + WORD_JOINER, text)
    if "&gt;" in text:
        text = _QUOTE_START.sub(r"\1" + SOFT_HYPHEN + "&gt;", text)
    return text


def fit(text: str, limit: int, escape: Callable[[str], str] = escape_plain) -> str:
    """Escape ``text`` and, when the result is over ``limit``, cut it to fit with "…"."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    low, high = 0, min(len(text), limit - 1)
    while low < high:  # the longest raw prefix whose escaped form leaves room for "…"
        middle = (low + high + 1) // 2
        if len(escape(text[:middle])) < limit:
            low = middle
        else:
            high = middle - 1
    return escape(text[:low]) + ELLIPSIS


def cut(value: str, limit: int) -> str:
    """Cut an unescaped value (an input's initial text) to ``limit`` with "…"."""
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def safe_url(url: str) -> str | None:
    """A pack URL made safe inside ``<url|label>`` and ``url`` fields, or None if unusable.

    Only ``https``, ``http`` and ``mailto`` links; characters that would end Slack's link
    markup or are not allowed in URLs are percent-encoded.
    """
    url = url.strip()
    if not url.lower().startswith(_URL_SCHEMES):
        return None
    url = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    return url if len(url) <= MAX_URL else None


def plain(text: str, limit: int) -> dict[str, Any]:
    """A ``plain_text`` object with the escaped, cut text (never empty)."""
    shown = fit(text, limit) if text.strip() else EMPTY
    return {"type": "plain_text", "text": shown, "emoji": False}


def more_note(hidden: int, noun: str = "") -> dict[str, Any]:
    """The context block that says how much was left out: "… (N more not shown)"."""
    words = f"{ELLIPSIS} ({hidden} more{noun} not shown)"
    return {"type": "context", "elements": [{"type": "plain_text", "text": words, "emoji": False}]}
