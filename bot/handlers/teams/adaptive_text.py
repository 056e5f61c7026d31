"""Text for Adaptive Cards in Teams: escaping so a person's words render literally, and limits.

TextBlock text and FactSet titles and values go through the host's markdown subset (bold,
italic, lists, links; Teams desktop and web use a CommonMark parser, mobile the shared C++
one), so ``escape_adaptive``:

* backslash-escapes the inline markers that parsers honour: ``\\ ` * _ [ ] ~ |`` (no link,
  image, emphasis, code, strike-through or table can form). The set is kept small on
  purpose: Teams mobile has shown escape backslashes literally (AdaptiveCards#5590);
* puts an invisible word joiner (U+2060) at the start of a line that begins with a block
  marker (``# > - + =``, a digit, indentation), so no heading, quote, list, rule or code block
  starts there; CommonMark counts only spaces and tabs as indentation, so it is plain text;
* puts a word joiner after ``<`` and ``&`` (no ``<at>``, HTML tag, autolink or entity can
  form; the C++ renderer HTML-escapes on its own, so entities would show as ``&lt;`` there),
  before the ``:`` of ``://`` and ``mailto:``, and after ``.`` before a letter or digit (no
  bare URL, domain or e-mail address is auto-linked);
* doubles newlines: TextBlock markdown needs a blank line to break a line (AdaptiveCards#5538).

Input labels, placeholders, choice titles, error messages and button titles are plain text in
Teams (no markdown), so ``escape_plain`` only adds the invisible breaks (and one between
``]`` and ``(``): a backslash there would show. Input values are a field's content: cut only.
"""

from __future__ import annotations

import json
import re

WORD_JOINER = "\u2060"
ELLIPSIS = "…"

# Limits chosen for Teams (whose hard limit is the ~28 KB message), in characters.
MAX_CARD_BYTES = 28_000  # measured as ASCII-escaped JSON, the largest wire form
MAX_TEXT = 4000
MAX_TITLE = 200
MAX_FALLBACK = 1000
BYTES_PER_CHARACTER = 3  # markdown text also stays under 3 JSON bytes a character it may show
MAX_FACT_TITLE = 200
MAX_FACT_VALUE = 1000
MAX_BUTTON_TITLE = 50
MAX_CHOICE_TITLE = 200
MAX_LABEL = 500
MAX_PLACEHOLDER = 150
MAX_ERROR = 500
MAX_INPUT_LENGTH = 4000
MAX_URL = 2048

_NEWLINES = re.compile(r"\r\n?")
_INLINE_MARKERS = re.compile(r"([\\`*_\[\]~|])")
_BLOCK_START = re.compile(r"^(?=[ \t#>+=\-0-9])", re.MULTILINE)
_OPENERS = re.compile(r"([<&])")
_LINK_COLON = re.compile(r"(?<=\w):(?=//)|(?<=mailto):", re.IGNORECASE)
_DOMAIN_DOT = re.compile(r"\.(?=[^\W_])")
_LINK_JOIN = re.compile(r"\](?=\()")
# Every character or place one of the patterns above acts on: text without any of them is
# returned as it is, without running them one by one (most labels and help texts).
_ADAPTIVE_WORK = re.compile(r"[\r\n\\`*_\[\]~|<&:]|\.(?=[^\W_])|\A[ \t#>+=\-0-9]")
_PLAIN_WORK = re.compile(r"[<&:\]]|\.(?=[^\W_])")
_URL_SCHEMES = ("https://", "http://", "mailto:")
_URL_UNSAFE = re.compile(r'[\s<>()\[\]"\\^`{}|]')


def _break_links(text: str) -> str:
    text = _OPENERS.sub(r"\1" + WORD_JOINER, text)
    text = _LINK_COLON.sub(WORD_JOINER + ":", text)
    return _DOMAIN_DOT.sub("." + WORD_JOINER, text)


def escape_adaptive(text: str) -> str:
    """Escape a person's text for a TextBlock or a fact so it renders literally in Teams."""
    if _ADAPTIVE_WORK.search(text) is None:
        return text
    text = _INLINE_MARKERS.sub(r"\\\1", _NEWLINES.sub("\n", text))
    text = _BLOCK_START.sub(WORD_JOINER, text)
    return _break_links(text).replace("\n", "\n\n")


def escape_plain(text: str) -> str:
    """Neutralise a person's text for a plain-text property (labels, titles, choices)."""
    if _PLAIN_WORK.search(text) is None:
        return text
    return _LINK_JOIN.sub("]" + WORD_JOINER, _break_links(text))


def cut(text: str, limit: int) -> str:
    """Cut raw text to ``limit`` characters, ending with "…" when something was left out."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def markdown(text: str, limit: int = MAX_TEXT) -> str:
    """A person's text cut to ``limit`` characters and escaped for markdown.

    Text that escapes heavily (emoji and symbols are 12 bytes of ASCII-escaped JSON each) is
    cut further, to ``3 * limit`` bytes, so one long paragraph cannot fill a 28 KB card.
    """
    escaped = escape_adaptive(cut(text, limit))
    budget = BYTES_PER_CHARACTER * limit
    if card_size(escaped) <= budget:
        return escaped
    low, high = 0, min(len(text), limit) - 1
    while low < high:  # the longest prefix that, cut and escaped, fits the byte budget
        middle = (low + high + 1) // 2
        if card_size(escape_adaptive(text[:middle] + ELLIPSIS)) <= budget:
            low = middle
        else:
            high = middle - 1
    return escape_adaptive(text[:low] + ELLIPSIS)


def plain(text: str, limit: int) -> str:
    """A person's text cut to ``limit`` and neutralised for a plain-text property."""
    return escape_plain(cut(text, limit))


def safe_url(url: str) -> str | None:
    """A pack URL made safe inside ``[label](url)`` and ``Action.OpenUrl``, or None.

    Only ``https``, ``http`` and ``mailto``; characters that could end the markdown link or
    are not allowed in URLs are percent-encoded.
    """
    url = url.strip()
    if not url.lower().startswith(_URL_SCHEMES):
        return None
    url = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    return url if len(url) <= MAX_URL else None


def card_size(value: object) -> int:
    """Bytes of ``value`` as JSON with non-ASCII escaped: an upper bound of what Teams gets."""
    return len(json.dumps(value, ensure_ascii=True))
