"""Slack escaping: nothing a person writes can ping, link or format, and nothing is lost."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.handlers.slack.blockkit import escape_mrkdwn
from bot.handlers.slack.blockkit_text import escape_plain, fit
from tests.renderers.support import (
    WORD_JOINER,
    shown_or_cut,
    slack_mrkdwn_norm,
    slack_mrkdwn_reads,
    slack_plain_norm,
    slack_shows,
    user_text,
)

MENTION = re.compile(r"@(?:here|channel|everyone)", re.IGNORECASE)
SCHEME = re.compile(r"\w://|mailto:", re.IGNORECASE)
DOMAIN_DOT = re.compile(r"\.[^\W_]")  # what an autolinker needs to see a domain
EMOJI_CODE = re.compile(r":[a-z0-9_+'-]+:")


def assert_inert(out: str) -> None:
    assert "<" not in out and ">" not in out
    assert not MENTION.search(out)
    assert not SCHEME.search(out)
    assert not DOMAIN_DOT.search(out)


@settings(max_examples=300, deadline=None)
@given(user_text)
def test_escape_mrkdwn_leaves_nothing_slack_would_parse(text: str) -> None:
    out = escape_mrkdwn(text)
    assert_inert(out)
    assert not re.search(r"[*_~`]", out)
    assert not re.search(r"^[ \t]*&gt;", out, re.MULTILINE)
    assert not EMOJI_CODE.search(out)


@settings(max_examples=300, deadline=None)
@given(user_text)
def test_escape_mrkdwn_is_lossless_for_a_reader(text: str) -> None:
    assert slack_mrkdwn_reads(escape_mrkdwn(text)) == slack_mrkdwn_norm(text)


@settings(max_examples=300, deadline=None)
@given(user_text)
def test_escape_plain_is_inert_and_shows_exactly_the_text(text: str) -> None:
    out = escape_plain(text)
    assert_inert(out)
    assert slack_shows(out) == slack_plain_norm(text)


@settings(max_examples=200, deadline=None)
@given(user_text, st.integers(1, 400), st.sampled_from([escape_plain, escape_mrkdwn]))
def test_fit_stays_within_the_limit_and_cuts_with_an_ellipsis(text, limit, escape) -> None:
    out = fit(text, limit, escape)
    assert len(out) <= limit
    if escape is escape_plain:
        assert shown_or_cut(slack_shows(out), slack_plain_norm(text))
    else:
        assert shown_or_cut(slack_mrkdwn_reads(out), slack_mrkdwn_norm(text))


def test_the_classic_pings_are_defused() -> None:
    assert escape_mrkdwn("<!channel>") == "&lt;!channel&gt;"
    assert (
        escape_mrkdwn("<@U123ABC> & <#C123>")
        == f"&lt;@{WORD_JOINER}U123ABC&gt; &amp; &lt;#C123&gt;"
    )
    assert escape_mrkdwn("@here") == f"@{WORD_JOINER}here"
    assert escape_mrkdwn("<http://evil.example|click>").startswith("&lt;http")


def test_formatting_and_quotes_show_as_typed() -> None:
    out = escape_mrkdwn("> *bold* _it_ ~s~ `code`")
    assert out.startswith("\u00ad&gt; ")
    assert slack_mrkdwn_reads(out) == "> *bold* _it_ ~s~ `code`"


def test_fit_never_splits_an_entity() -> None:
    assert fit("<<<<<", 9) == "&lt;&lt;…"
    assert fit("abc", 3) == "abc"
