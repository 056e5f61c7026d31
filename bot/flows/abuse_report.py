"""``/report-abuse`` as data: the pages and steps of DOMAIN.md section 1, words from the pack.

```mermaid
flowchart TD
    safety{In danger now?} -->|yes| police[Police advice at once; report marked urgent]
    safety -->|no| about[About you: role, directorate]
    police --> about
    about --> who[Line manager or project team contact]
    who --> account[Whose account, how it reached you]
    account --> what[What happened; Annex A steps for an organisational account]
    what --> evidence[Evidence files]
    evidence --> sensitive[Sensitivities]
    sensitive --> review[Review and submit]
```

The order and the branches are code; every label, hint and option comes from
``pack.abuse_report.steps`` so an organisation changes the words without touching Python.
"""

from __future__ import annotations

from bot.flows.spec import FlowSpec, Page, Step, StepKind, When
from bot.policy import PolicyPack

FLOW = "abuse_report"

# The pack's step kinds, as the engine's.
KINDS = {
    "yes_no": StepKind.YES_NO,
    "choice": StepKind.CHOICE,
    "multi_choice": StepKind.MULTI_CHOICE,
    "person": StepKind.PEOPLE,
    "text": StepKind.TEXT,
    "long_text": StepKind.LONG_TEXT,
    "date": StepKind.DATE,
    "files": StepKind.FILES,
    "review": StepKind.CONFIRM,
}

PAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("safety", "Your safety", ("safety",)),
    ("about_you", "About you", ("reporter_role", "directorate")),
    ("who", "Who should have your report", ("line_manager", "project_contact")),
    ("account", "Whose account", ("account_kind", "channel")),
    (
        "what_happened",
        "What happened",
        (
            "platform",
            "kind",
            "started_on",
            "ongoing",
            "senders",
            "links",
            "description",
            "work_item",
            "contentious",
        ),
    ),
    ("evidence", "Evidence", ("evidence",)),
    ("sensitivities", "Sensitivities", ("protected_characteristics", "details_exposed", "replied")),
    ("review", "Check your report", ("review",)),
)


def build_spec(pack: PolicyPack) -> FlowSpec:
    """The abuse report flow for this organisation's pack."""
    policy = pack.abuse_report
    pages = [
        Page(page_id, title, tuple(_step(pack, step_id) for step_id in step_ids))
        for page_id, title, step_ids in PAGES
    ]
    safety = policy.safety_advice
    pages.insert(
        1,
        Page(
            "police",
            safety.title,
            (
                Step(
                    "police_advice",
                    StepKind.INFO,
                    safety.text,
                    hint="alert",
                    when=When("safety", ("yes",)),
                ),
            ),
        ),
    )
    pages[_index(pages, "what_happened")] = _with_account_steps(
        pages[_index(pages, "what_happened")], pack
    )
    return FlowSpec(
        name=FLOW, title="Report abusive contact", pages=tuple(pages), submit_label="Send report"
    )


def _step(pack: PolicyPack, step_id: str) -> Step:
    words = pack.abuse_report.steps[step_id]
    from bot.policy.abuse import STEP_KINDS

    return Step(
        id=step_id,
        kind=KINDS[STEP_KINDS[step_id]],
        label=words.label,
        hint=words.hint or "",
        options=tuple((o.id, o.label) for o in words.options),
        required=words.required,
        max_length=words.max_length,
        when=_when(pack, step_id),
    )


def _when(pack: PolicyPack, step_id: str) -> When | None:
    """The branches: who the report goes to, and the platform only for social media."""
    roles = pack.abuse_report.steps["reporter_role"].options
    if step_id == "line_manager":
        return When("reporter_role", tuple(o.id for o in roles if o.reports_to == "line_manager"))
    if step_id == "project_contact":
        return When("reporter_role", tuple(o.id for o in roles if o.reports_to == "project_team"))
    if step_id == "platform":
        return When("channel", ("social_media",))
    return None


def _with_account_steps(page: Page, pack: PolicyPack) -> Page:
    """Annex A's steps for abuse on an organisational account, shown on that branch."""
    lines = [step.text for step in pack.abuse_report.organisational_account_steps]
    info = Step(
        "organisational_account_steps",
        StepKind.INFO,
        "\n".join(lines),
        when=When("account_kind", ("organisational",)),
    )
    return Page(page.id, page.title, (info, *page.steps), page.intro)


def _index(pages: list[Page], page_id: str) -> int:
    return next(i for i, page in enumerate(pages) if page.id == page_id)
