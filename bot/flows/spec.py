"""Declarative flows: steps grouped into pages, with validators and ``when`` conditions.

A flow is data. ``FlowSpec`` holds ``Page``s in order; each page holds ``Step``s. A step
says what kind of answer it takes, how it is labelled (text from the policy pack), which
validators apply and when it is shown (``when``: an earlier answer equals a value). The
engine (``bot.flows.engine``) walks the pages; the platform adapters render a page as a
modal view (Slack) or an Adaptive Card (Teams). Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Answers = Mapping[str, Any]
Validator = Callable[["Step", Any], str | None]


class StepKind(StrEnum):
    """The kinds of answer a step takes."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    PEOPLE = "people"
    DATE = "date"
    YES_NO = "yes_no"
    FILES = "files"
    CONFIRM = "confirm"
    INFO = "info"


YES, NO = "yes", "no"
YES_NO_OPTIONS: tuple[tuple[str, str], ...] = ((YES, "Yes"), (NO, "No"))

# Free text is limited on the server whatever the client does: a pack that gives a text step
# no max_length gets the longest a Slack or Teams text box takes.
DEFAULT_TEXT_LIMIT = 3000
TEXT_KINDS = frozenset({StepKind.TEXT, StepKind.LONG_TEXT})
LIST_KINDS = frozenset({StepKind.MULTI_CHOICE, StepKind.PEOPLE, StepKind.FILES})
# A person is named by a platform id (Slack ``U…``, a Teams AAD object id or ``29:…`` id).
PERSON_ID = re.compile(r"[A-Za-z0-9:_.@-]{1,200}")
MAX_PEOPLE = 10


@dataclass(frozen=True)
class When:
    """Show a step only when an earlier answer is one of ``values`` (any, for a list answer)."""

    step: str
    values: tuple[str, ...]

    def holds(self, answers: Answers) -> bool:
        answer = answers.get(self.step)
        if isinstance(answer, list | tuple):
            return any(str(a) in self.values for a in answer)
        return answer is not None and str(answer) in self.values


@dataclass(frozen=True)
class Step:
    """One question (or one piece of information) in a flow.

    Args:
        id: the answer's key; stable across pack changes.
        kind: what the answer is.
        label: the question, from the policy pack.
        hint: help under the question.
        options: ``(value, label)`` pairs for choice steps.
        required: an answer must be given (not for ``INFO``).
        max_length: for text steps, the longest answer accepted.
        when: shown only when this holds.
        validators: extra checks, each returning an error message or None.
    """

    id: str
    kind: StepKind
    label: str
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    required: bool = True
    max_length: int | None = None
    when: When | None = None
    validators: tuple[Validator, ...] = ()

    def visible(self, answers: Answers) -> bool:
        return self.when is None or self.when.holds(answers)

    @property
    def takes_answer(self) -> bool:
        return self.kind is not StepKind.INFO

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        return YES_NO_OPTIONS if self.kind is StepKind.YES_NO else self.options

    @property
    def limit(self) -> int | None:
        """The longest text answer accepted: the pack's, or the default for free text."""
        if self.max_length is not None:
            return self.max_length
        return DEFAULT_TEXT_LIMIT if self.kind in TEXT_KINDS else None


@dataclass(frozen=True)
class Page:
    """Steps shown together: one modal view on Slack, one card on Teams."""

    id: str
    title: str
    steps: tuple[Step, ...]
    intro: str = ""

    def visible_steps(self, answers: Answers) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.visible(answers))


@dataclass(frozen=True)
class FlowSpec:
    """A whole flow: its name (``abuse_report``), title and pages in order."""

    name: str
    title: str
    pages: tuple[Page, ...]
    submit_label: str = "Submit"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [step.id for page in self.pages for step in page.steps]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"{self.name}: duplicate step ids {sorted(duplicates)}")
        page_ids = [page.id for page in self.pages]
        if len(set(page_ids)) != len(page_ids):
            raise ValueError(f"{self.name}: duplicate page ids")

    def page(self, page_id: str) -> Page:
        for page in self.pages:
            if page.id == page_id:
                return page
        raise KeyError(f"{self.name}: no page {page_id!r}")

    def step(self, step_id: str) -> Step:
        for page in self.pages:
            for step in page.steps:
                if step.id == step_id:
                    return step
        raise KeyError(f"{self.name}: no step {step_id!r}")

    def visible_pages(self, answers: Answers) -> tuple[Page, ...]:
        """Pages with at least one step to show, given the answers so far."""
        return tuple(page for page in self.pages if page.visible_steps(answers))

    def next_page(self, current: str, answers: Answers) -> Page | None:
        """The first visible page after ``current``, or None when ``current`` was the last."""
        ids = [page.id for page in self.pages]
        for page in self.pages[ids.index(current) + 1 :]:
            if page.visible_steps(answers):
                return page
        return None


# Validators: each returns an error message for the field, or None.


def required(step: Step, value: Any) -> str | None:
    """An answer must be given."""
    if step.required and step.takes_answer and is_blank(value):
        return (
            "Please answer this question."
            if step.kind is not StepKind.CONFIRM
            else ("Please confirm to continue.")
        )
    return None


# What a person is told when a platform sent the wrong type of value for a step.
WRONG_TYPE = {
    StepKind.TEXT: "Please type your answer as text.",
    StepKind.LONG_TEXT: "Please type your answer as text.",
    StepKind.CHOICE: "Please choose one of the options shown.",
    StepKind.YES_NO: "Please choose one of the options shown.",
    StepKind.MULTI_CHOICE: "Please choose one of the options shown.",
    StepKind.PEOPLE: "Please choose a person from the list.",
    StepKind.DATE: "Please give a date as day, month and year.",
    StepKind.FILES: "Please attach your files with the file field.",
    StepKind.CONFIRM: "Please confirm to continue.",
}


def answer_type(step: Step, value: Any) -> str | None:
    """Text where text is asked for, a list of texts for lists: never a number or an object.

    Slack and Teams only ever send strings (and lists of them); anything else was not typed
    by a person, and is refused on the field rather than stored as ``str(value)``.
    """
    if value is None or not step.takes_answer:
        return None
    if step.kind in LIST_KINDS:
        fits = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    else:
        fits = isinstance(value, str)
    return None if fits else WRONG_TYPE[step.kind]


def max_length(step: Step, value: Any) -> str | None:
    """Text no longer than the step allows, naming the limit."""
    limit = step.limit
    if limit is not None and isinstance(value, str) and len(value) > limit:
        return f"Please keep this to {limit:,} characters or fewer (it is {len(value):,})."
    return None


def one_of(step: Step, value: Any) -> str | None:
    """Choice answers must be among the options offered."""
    if step.kind not in (StepKind.CHOICE, StepKind.MULTI_CHOICE, StepKind.YES_NO):
        return None
    allowed = {option for option, _ in step.choices}
    given = value if isinstance(value, list | tuple) else [value]
    if any(v not in allowed for v in given if not is_blank(v)):
        return "Please choose one of the options shown."
    return None


def confirmed(step: Step, value: Any) -> str | None:
    """A confirmation is "yes" or nothing: nothing else counts as agreeing."""
    if step.kind is StepKind.CONFIRM and not is_blank(value) and value != YES:
        return WRONG_TYPE[StepKind.CONFIRM]
    return None


def person_ids(step: Step, value: Any) -> str | None:
    """People are platform ids, as the people pickers give them, and only a few of them."""
    if step.kind is not StepKind.PEOPLE or not isinstance(value, list | tuple):
        return None
    if len(value) > MAX_PEOPLE:
        return f"Please choose up to {MAX_PEOPLE} people."
    if not are_person_ids(value):
        return WRONG_TYPE[StepKind.PEOPLE]
    return None


def are_person_ids(values: Sequence[Any]) -> bool:
    """Every value is a platform id, as a people picker gives it (not typed text)."""
    return all(isinstance(v, str) and PERSON_ID.fullmatch(v) for v in values)


def iso_date(step: Step, value: Any) -> str | None:
    """Dates as ``YYYY-MM-DD``, not in the future."""
    if step.kind is not StepKind.DATE or is_blank(value):
        return None
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        day = None
    if day is None or day.isoformat() != value:  # only YYYY-MM-DD, as the date pickers send
        return "Please give a date as day, month and year."
    if day > dt.date.today() + dt.timedelta(days=1):
        return "This date is in the future. Please check it."
    return None


DEFAULT_VALIDATORS: tuple[Validator, ...] = (
    answer_type,
    required,
    max_length,
    one_of,
    confirmed,
    person_ids,
    iso_date,
)


# Characters no keyboard types: C0 controls but tab and newlines, DEL, and lone surrogates
# (JSON can carry them; UTF-8 and PostgreSQL text cannot, so they could not be stored).
UNTYPEABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def typed(value: Any) -> Any:
    """Text with the characters no person can type taken out; lists of text likewise.

    Anything else is returned as it is (the validators refuse what is of the wrong type).
    """
    if isinstance(value, str):
        return UNTYPEABLE.sub("", value)
    if isinstance(value, list):
        return [UNTYPEABLE.sub("", v) if isinstance(v, str) else v for v in value]
    return value


def is_blank(value: Any) -> bool:
    """True for no answer: None, empty or whitespace-only text, an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def validate(step: Step, value: Any) -> str | None:
    """Run the default validators and then the step's own; the first error wins."""
    for check in (*DEFAULT_VALIDATORS, *step.validators):
        error = check(step, value)
        if error:
            return error
    return None
