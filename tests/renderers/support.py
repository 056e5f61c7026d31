"""Shared pieces of the renderer tests: hostile text, card strategies, client models, schema.

The "client models" are deliberately simple models of what Slack and Teams show for a
string: they undo exactly the escaping the renderers document (entities, look-alikes,
invisible joiners, backslash escapes, doubled newlines). Round trips through them prove the
escaping is lossless for display, up to the invisible characters it inserts.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from bot.actions import ActionName, ActionRef
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
    Option,
    PeopleInput,
    Text,
    TextInput,
)

WORD_JOINER = "\u2060"
SOFT_HYPHEN = "\u00ad"
ELLIPSIS = "…"
TRUSTED_URL = "https://policy.example.org/advice?topic=abuse&lang=en"

# fmt: off
DANGEROUS = (
    "<!channel>", "<!here>", "<!everyone>", "@here", "@channel", "@everyone", "<@U123ABC>",
    "<#C123>", "<http://evil.example|click>", "[x](http://evil)", "![img](http://evil/i.png)",
    "**bold**", "*bold*", "_it_", "~strike~", "~~strike~~", "`code`", "```block```",
    "<b>html</b>", "<at>Bob</at>", "&lt;", "&amp;", "&#60;", "http://evil.example/x",
    "https://evil.example", "www.evil.com", "evil.com", "bob@evil.com", "javascript:alert(1)",
    "mailto:x@evil.com", ":smile:", "> quote", "# heading", "- item", "+ item", "1. item",
    "    code", "===", "---", "| a | b |", "\\", "\\*", "|", "\n", "\r\n", "\r", "😀",
    "👩\u200d👩\u200d👧", "\u200f", "\u202e", "\u200b", "\u2060", "\u00ad", "∗", "ˍ", "<", ">",
    "&",
)
# fmt: on


@st.composite
def _dangerous_text(draw: st.DrawFn) -> str:
    """Hostile fragments mixed with arbitrary text."""
    fragments = st.sampled_from(DANGEROUS) | st.text(max_size=12)
    return "".join(draw(st.lists(fragments, max_size=10)))


@st.composite
def _user_text(draw: st.DrawFn) -> str:
    """Anything a person might type: arbitrary, hostile, or thousands of characters long."""
    kind = draw(st.sampled_from(["any", "hostile", "hostile", "long"]))
    if kind == "any":
        return draw(st.text())
    text = draw(dangerous_text)
    return (text * draw(st.integers(50, 600)))[:6000] if kind == "long" else text


dangerous_text = _dangerous_text()
user_text = _user_text()
ids = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
refs = st.builds(
    lambda name, subject, version: ActionRef(name, subject, version).encode(),
    st.sampled_from(list(ActionName)),
    st.from_regex(r"[A-Za-z0-9-]{0,20}", fullmatch=True),
    st.integers(0, 10_000),
)
buttons = st.builds(
    Button,
    label=user_text,
    value=refs | st.just(""),
    style=st.sampled_from(["default", "primary", "danger"]),
    url=st.none() | st.just(TRUSTED_URL),
)
options = st.lists(
    st.builds(Option, value=ids, label=user_text), max_size=14, unique_by=lambda o: o.value
).map(tuple)
errors = st.none() | user_text


@st.composite
def choice_inputs(draw: st.DrawFn) -> ChoiceInput:
    opts = draw(options)
    values = [o.value for o in opts]
    initial = draw(st.lists(st.sampled_from(values), max_size=3)) if values else []
    return ChoiceInput(
        id=draw(ids),
        label=draw(user_text),
        options=opts,
        multiple=draw(st.booleans()),
        required=draw(st.booleans()),
        initial=tuple(initial),
        hint=draw(user_text),
        error=draw(errors),
    )


elements = st.one_of(
    st.builds(
        Text, text=user_text, style=st.sampled_from(["plain", "heading", "muted", "alert", "good"])
    ),
    st.builds(Fields, items=st.lists(st.tuples(user_text, user_text), max_size=12).map(tuple)),
    st.builds(Link, label=user_text, url=st.just(TRUSTED_URL)),
    st.just(Divider()),
    st.builds(Actions, buttons=st.lists(buttons, max_size=4).map(tuple)),
    st.builds(
        TextInput,
        id=ids,
        label=user_text,
        multiline=st.booleans(),
        required=st.booleans(),
        max_length=st.none() | st.integers(1, 5000),
        initial=user_text,
        placeholder=user_text,
        hint=user_text,
        error=errors,
    ),
    choice_inputs(),
    st.builds(
        PeopleInput,
        id=ids,
        label=user_text,
        multiple=st.booleans(),
        initial=st.lists(st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True), max_size=2).map(tuple),
        hint=user_text,
        error=errors,
    ),
    st.builds(
        DateInput,
        id=ids,
        label=user_text,
        initial=st.sampled_from(["", "2024-02-29", "2024-02-30", "tomorrow"]),
        hint=user_text,
        error=errors,
    ),
    st.builds(
        FileInput,
        id=ids,
        label=user_text,
        max_files=st.integers(0, 20),
        filetypes=st.lists(st.sampled_from([".pdf", "PNG", "jpg", " "]), max_size=3).map(tuple),
        hint=user_text,
        error=errors,
    ),
)
cards = st.builds(
    Card,
    title=user_text,
    elements=st.lists(elements, max_size=10).map(tuple),
    submit=st.none() | buttons,
    cancel_label=user_text,
    fallback=user_text,
    metadata=st.text(max_size=200),
)


def every_input(error_on: str = "") -> tuple[Any, ...]:
    """One input of every kind, as a flow page would show them; an error on ``error_on``."""
    few = tuple(Option(f"o{i}", f"Option {i}") for i in range(3))
    many = tuple(Option(f"m{i}", f"Choice {i}") for i in range(12))
    return (
        TextInput(
            "what",
            "What happened?",
            multiline=True,
            max_length=5000,
            initial="They said <!here>",
            placeholder="Describe it",
            error="Please say more <b>" if error_on == "what" else None,
        ),
        ChoiceInput("where", "Where?", few, initial=("o1",)),
        ChoiceInput("site", "Which site?", many, initial=("m5",)),
        ChoiceInput("kinds", "What kind?", few, multiple=True, initial=("o0", "o2")),
        ChoiceInput("tags", "Tags", many, multiple=True, required=False),
        PeopleInput("manager", "Your manager", initial=("U01",)),
        PeopleInput("witnesses", "Witnesses", multiple=True, required=False),
        DateInput("when", "When?", initial="2024-03-01", hint="The day it happened"),
        FileInput("evidence", "Evidence", max_files=25, filetypes=(".pdf", "PNG")),
    )


def shown_or_cut(shown: str, expected: str) -> bool:
    """True when ``shown`` is ``expected`` whole, or a prefix of it ending in "…"."""
    if shown == expected:
        return True
    return shown.endswith(ELLIPSIS) and expected.startswith(shown[: -len(ELLIPSIS)])


# --- Slack: what a client shows for an escaped string ------------------------------------

_ENTITY = re.compile(r"&(amp|lt|gt);")
_LOOKALIKES_BACK = str.maketrans(
    {"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`", "\u2223": "|"}
)


def slack_shows(text: str) -> str:
    """Slack decodes its three entities; the joiners inserted are invisible."""
    decoded = _ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)
    return decoded.replace(WORD_JOINER, "")


def slack_mrkdwn_reads(text: str) -> str:
    """What a reader takes from escaped mrkdwn: look-alikes read as the characters they copy."""
    return slack_shows(text).replace(SOFT_HYPHEN, "").translate(_LOOKALIKES_BACK)


def slack_plain_norm(text: str) -> str:
    return text.replace(WORD_JOINER, "")


def slack_mrkdwn_norm(text: str) -> str:
    """The original as a reader of the escaped mrkdwn takes it (look-alikes count as ASCII)."""
    return text.replace(WORD_JOINER, "").replace(SOFT_HYPHEN, "").translate(_LOOKALIKES_BACK)


# --- Teams: what a CommonMark-style client shows -------------------------------------------

_BACKSLASHED = re.compile(r"\\([\\`*_\[\]~|])")


def teams_shows(text: str) -> str:
    """Backslash escapes resolve, blank-line breaks show as one break, joiners are invisible."""
    return _BACKSLASHED.sub(r"\1", text).replace("\n\n", "\n").replace(WORD_JOINER, "")


def teams_norm(text: str) -> str:
    return re.sub(r"\r\n?", "\n", text).replace(WORD_JOINER, "")


# --- Adaptive Card schema -----------------------------------------------------------------

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
ADAPTIVE_SCHEMA = SCHEMAS / "adaptivecards" / "adaptive-card-1.5.0.json"
# Teams host extensions the strict 1.5 schema does not know: the root "msteams" (full width)
# and the people picker's "choices.data" (Data.Query arrived in the 1.6 schema).
HOST_KEYS = frozenset({"msteams", "choices.data"})


def strip_host_keys(value: Any) -> Any:
    """A copy of a card without the Teams-only keys, for the strict official schema."""
    if isinstance(value, dict):
        return {k: strip_host_keys(v) for k, v in value.items() if k not in HOST_KEYS}
    if isinstance(value, list):
        return [strip_host_keys(v) for v in value]
    return value


@functools.cache
def _adaptive_validator() -> Any:
    import jsonschema

    schema = json.loads(ADAPTIVE_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft6Validator(schema)


def validate_adaptive(card: dict[str, Any]) -> None:
    """Validate against the official Adaptive Card 1.5 schema, or skip when it is absent."""
    if not ADAPTIVE_SCHEMA.is_file():
        pytest.skip(f"Adaptive Card schema not found at {ADAPTIVE_SCHEMA} (shared checkout)")
    _adaptive_validator().validate(strip_host_keys(card))
