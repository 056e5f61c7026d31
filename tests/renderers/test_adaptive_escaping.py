"""Teams escaping: a person's words render literally in an Adaptive Card, nothing is lost."""

from __future__ import annotations

import re

from hypothesis import given, settings

from bot.handlers.teams.adaptive import escape_adaptive
from bot.handlers.teams.adaptive_text import escape_plain
from tests.renderers.support import WORD_JOINER, teams_norm, teams_shows, user_text

ESCAPED_PAIR = re.compile(r"\\[\\`*_\[\]~|]")
TAG = re.compile(r"<[A-Za-z/!?]")
ENTITY = re.compile(r"&[A-Za-z#]")
LINK_SCHEME = re.compile(r"\w://|mailto:", re.IGNORECASE)
DOMAIN_DOT = re.compile(r"\.[^\W_]")
BLOCK_MARKER_AT_LINE_START = re.compile(r"^[ \t#>+=\-0-9]", re.MULTILINE)


def assert_markdown_inert(text: str) -> None:
    """No markdown, HTML, mention or autolink can form once the escaped pairs are set aside."""
    bare = ESCAPED_PAIR.sub("\x00", text)  # an escaped character stands for nothing
    assert not re.search(r"[\\`*_\[\]~|]", bare), text
    assert not TAG.search(bare) and not ENTITY.search(bare)
    assert not LINK_SCHEME.search(bare) and not DOMAIN_DOT.search(bare)
    assert not BLOCK_MARKER_AT_LINE_START.search(text)
    assert "\r" not in text


def assert_plain_inert(text: str) -> None:
    assert not TAG.search(text) and not ENTITY.search(text) and "](" not in text
    assert not LINK_SCHEME.search(text) and not DOMAIN_DOT.search(text)


@settings(max_examples=300, deadline=None)
@given(user_text)
def test_escape_adaptive_leaves_no_markup(text: str) -> None:
    assert_markdown_inert(escape_adaptive(text))


@settings(max_examples=300, deadline=None)
@given(user_text)
def test_escape_adaptive_is_lossless_for_display(text: str) -> None:
    assert teams_shows(escape_adaptive(text)) == teams_norm(text)


@settings(max_examples=300, deadline=None)
@given(user_text)
def test_escape_plain_leaves_no_tag_link_or_url_and_shows_the_text(text: str) -> None:
    out = escape_plain(text)
    assert_plain_inert(out)
    assert out.replace(WORD_JOINER, "") == text.replace(WORD_JOINER, "")


def test_examples() -> None:
    assert escape_adaptive("**bold** [x](http://evil)") == (
        "\\*\\*bold\\*\\* \\[x\\](http\u2060://evil)"
    )
    assert escape_adaptive("<at>Bob</at> &lt;") == "<\u2060at>Bob<\u2060/at> &\u2060lt;"
    assert escape_adaptive("# no heading\n- no list") == "\u2060# no heading\n\n\u2060- no list"
    assert escape_adaptive("see evil.com") == "see evil.\u2060com"
