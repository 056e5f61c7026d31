"""``/social-case`` as data: the business case of seed 002 Section 3 (A to E), pack words.

```mermaid
flowchart TD
    checklist[Checklist: each point yes / no / not sure] --> applicant[Applicant and line manager]
    applicant --> q1[Questions 1 to 6] --> q7[Questions 7 to 12]
    q7 --> declaration[Declaration and review]
```

The checklist, the twelve questions and the declaration are the template's words, word for
word, from ``pack.business_case``; a "no" is allowed and shown to the approvers highlighted.
"""

from __future__ import annotations

import re

from bot.flows.spec import FlowSpec, Page, Step, StepKind
from bot.policy import PolicyPack

FLOW = "business_case"
CHECK_PREFIX = "check_"


def build_spec(pack: PolicyPack) -> FlowSpec:
    """The business case flow for this organisation's pack."""
    policy = pack.business_case
    answers = tuple((o.id, o.label) for o in policy.checklist_answers)
    checklist = tuple(
        Step(f"{CHECK_PREFIX}{point.id}", StepKind.CHOICE, point.text, options=answers)
        for point in policy.checklist
    )
    applicant = tuple(
        Step(
            f.id,
            StepKind.TEXT,
            f.label,
            hint=f.hint or "",
            max_length=f.max_length,
            validators=(email_address,) if f.id == "email" else (),
        )
        for f in policy.applicant_fields
    )
    manager = (
        Step(
            policy.line_manager.id,
            StepKind.PEOPLE,
            policy.line_manager.label,
            hint=policy.line_manager.hint or "",
        ),
        Step(
            policy.line_manager_title.id,
            StepKind.TEXT,
            policy.line_manager_title.label,
            hint=policy.line_manager_title.hint or "",
            max_length=policy.line_manager_title.max_length,
        ),
    )
    questions = tuple(
        Step(q.id, StepKind.LONG_TEXT, f"{q.number}. {q.text}", max_length=q.max_length)
        for q in policy.questions
    )
    half = (len(questions) + 1) // 2
    first, last = questions[:half], questions[half:]
    return FlowSpec(
        name=FLOW,
        title="Social media business case",
        pages=(
            Page("checklist", "Checklist", checklist, intro=policy.checklist_intro),
            Page("applicant", "Applicant and line manager", applicant + manager),
            Page("questions_1", _range_title(first), first),
            Page("questions_2", _range_title(last), last),
            Page(
                "declaration",
                "Declaration",
                (Step("declaration", StepKind.CONFIRM, policy.declaration),),
            ),
        ),
        submit_label="Submit business case",
    )


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_address(step: Step, value: object) -> str | None:
    """An e-mail address that looks like one (the board writes back to it)."""
    if isinstance(value, str) and value.strip() and not EMAIL.match(value.strip()):
        return "Please give an e-mail address, like name@example.org."
    return None


def _range_title(steps: tuple[Step, ...]) -> str:
    numbers = [s.label.split(".", 1)[0] for s in steps]
    return f"Questions {numbers[0]} to {numbers[-1]}" if numbers else "Questions"
