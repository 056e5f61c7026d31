"""The content of ``/social-case``: the business case for a new social media presence.

An organisation's form must match its approved template, so the checklist, the questions,
the declaration and the support statement are carried word for word (seed 002 Section E for
the default pack). The code only relies on the ids checked here: the answer ids it highlights
(``no``), the decision ids that map to buttons, the applicant fields it fills from a profile
and the questions it shows on the board's card.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PositiveInt, model_validator

from bot.policy.common import Id, Link, Option, PackModel, Problems, Text, check_placeholders

CHECKLIST_ANSWERS = frozenset({"yes", "no", "not_sure"})
DECISIONS = frozenset({"approve", "reject", "request_changes"})
APPLICANT_FIELDS = frozenset({"name", "title", "directorate", "email", "telephone"})
#: Questions the board's card shows (platform and purpose) and the record keeps apart.
CARD_QUESTIONS = frozenset({"social_media", "purpose", "exit_strategy"})
PRESENCE_PLACEHOLDERS = {"presence"}


class ChecklistPoint(PackModel):
    """One point of the checklist, word for word, with any links the template gives."""

    id: Id
    text: Text
    links: list[Link] = Field(default_factory=list)


class FormField(PackModel):
    """A field of the template's applicant block."""

    id: Id
    label: Text
    hint: str | None = None
    max_length: PositiveInt | None = None


class Question(PackModel):
    """One numbered question of the template, word for word."""

    number: PositiveInt
    id: Id
    text: Text
    max_length: PositiveInt = 3000


class DecisionOption(PackModel):
    """A board decision: its button label and the template's wording of it, if any."""

    id: Id
    label: Text
    statement: str | None = None


class PresenceReminders(PackModel):
    """What an approved page's owner is reminded of (seed 002 Section A.10 and D)."""

    monitor: Text
    capture_content: Text


class BusinessCasePolicy(PackModel):
    """Everything ``/social-case`` asks, declares and decides."""

    reference_prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,6}$")] = "SC"
    checklist_intro: Text
    checklist: list[ChecklistPoint] = Field(min_length=1)
    checklist_answers: list[Option]
    applicant_fields: list[FormField]
    line_manager: FormField
    line_manager_title: FormField
    questions: list[Question] = Field(min_length=1)
    declaration: Text
    support_statement: Text
    decision_statement: Text
    decision_options: list[DecisionOption]
    comments_label: Text = "Comments"
    send_to: str
    review_after_years: PositiveInt = 2
    presence_reminders: PresenceReminders

    def question(self, question_id: str) -> Question:
        """Return the question with this id, or raise ``KeyError``."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    @model_validator(mode="after")
    def _check(self) -> BusinessCasePolicy:
        problems = Problems()
        problems.check_unique(("checklist",), [p.id for p in self.checklist])
        _exact_ids(problems, "checklist_answers", self.checklist_answers, CHECKLIST_ANSWERS)
        _exact_ids(problems, "decision_options", self.decision_options, DECISIONS)
        _exact_ids(problems, "applicant_fields", self.applicant_fields, APPLICANT_FIELDS)
        problems.check_unique(("questions",), [q.id for q in self.questions])
        for index, question in enumerate(self.questions):
            if question.number != index + 1:
                problems.add(
                    ("questions", index, "number"),
                    f"questions are numbered 1, 2, 3... in order: expected {index + 1}",
                )
        for missing in sorted(CARD_QUESTIONS - {q.id for q in self.questions}):
            problems.add(("questions",), f"missing question with id {missing!r}")
        for name in ("monitor", "capture_content"):
            text = getattr(self.presence_reminders, name)
            loc = ("presence_reminders", name)
            check_placeholders(problems, loc, text, PRESENCE_PLACEHOLDERS)
        problems.raise_if_any()
        return self


def _exact_ids(
    problems: Problems,
    field: str,
    items: list[Option] | list[FormField] | list[DecisionOption],
    expected: frozenset[str],
) -> None:
    ids = [item.id for item in items]
    problems.check_unique((field,), ids)
    for missing in sorted(expected - set(ids)):
        problems.add(
            (field,), f"missing {missing!r} (needs exactly: {', '.join(sorted(expected))})"
        )
    for index, item_id in enumerate(ids):
        if item_id not in expected:
            problems.add((field, index, "id"), f"unknown id {item_id!r}")
