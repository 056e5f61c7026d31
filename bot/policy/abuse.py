"""The content of ``/report-abuse``: steps, advice, evidence limits and triage choices.

The flow engine owns the order and the logic of the conversation; the pack owns its words.
Each step is keyed by a fixed step id (:data:`STEP_KINDS`) so the engine can find it, and the
options the engine branches on (``safety: yes``, ``account_kind: organisational`` and so on)
must exist (:data:`REQUIRED_OPTIONS`). Everything else, labels, hints, extra options, advice,
is the organisation's to change.

Advice is chosen by the answers: an item with ``when: {channel: social_media}`` is shown only
to someone who answered "social media", and ``link_from_platform`` takes the link from the
platform the reporter named (seed 000 para 9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import Field, PositiveInt, field_validator, model_validator

from bot.policy.common import (
    Ask,
    Id,
    Link,
    Option,
    PackModel,
    Problems,
    Text,
    check_placeholders,
)

#: Every step of the abuse report, in the order DOMAIN.md gives, with the kind of input.
STEP_KINDS: dict[str, str] = {
    "safety": "yes_no",
    "reporter_role": "choice",
    "line_manager": "person",
    "project_contact": "person",
    "directorate": "text",
    "account_kind": "choice",
    "channel": "choice",
    "platform": "choice",
    "kind": "choice",
    "started_on": "date",
    "ongoing": "yes_no",
    "senders": "long_text",
    "links": "long_text",
    "description": "long_text",
    "work_item": "text",
    "contentious": "yes_no",
    "evidence": "files",
    "protected_characteristics": "multi_choice",
    "details_exposed": "yes_no",
    "replied": "yes_no",
    "review": "review",
}

CHOICE_KINDS = frozenset({"yes_no", "choice", "multi_choice"})
TEXT_KINDS = frozenset({"text", "long_text"})

#: Option ids the flow's logic depends on; labels stay free.
REQUIRED_OPTIONS: dict[str, frozenset[str]] = {
    "account_kind": frozenset({"own", "organisational"}),
    "channel": frozenset({"social_media"}),
    "protected_characteristics": frozenset({"none"}),
}

REPORTS_TO = frozenset({"line_manager", "project_team"})
NOTICE_PLACEHOLDERS = {"reference"}
NOTICES = ("submitted", "acknowledged", "escalated", "closed")

MimeType = Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")]


class Step(PackModel):
    """The words of one step: a label, an optional hint, and options for a choice."""

    label: Text
    hint: str | None = None
    options: list[Option] = Field(default_factory=list)
    required: bool = True
    max_length: PositiveInt | None = None

    def option(self, option_id: str) -> Option:
        """Return the option with this id.

        Raises:
            KeyError: when the step has no such option.
        """
        for option in self.options:
            if option.id == option_id:
                return option
        raise KeyError(option_id)


class SafetyAdvice(PackModel):
    """Shown at once when someone is in danger (seed 000 para 10). Nothing may delay it."""

    title: Text
    text: Text
    contacts: list[str] = Field(default_factory=list)


class EvidenceLimits(PackModel):
    """What the bot accepts as evidence files."""

    max_file_bytes: PositiveInt = 20 * 1024 * 1024
    max_files: PositiveInt = 10
    allowed_types: list[MimeType] = Field(min_length=1)


class EscalationTarget(PackModel):
    """Somewhere a report can be escalated to, and what the triage team must record."""

    id: Id
    label: Text
    hint: str | None = None
    contact: str | None = None
    role: str | None = None
    asks: list[Ask] = Field(default_factory=list)
    tell_reporter: bool = False


class RecordAction(PackModel):
    """Something done about a report that the triage team can record."""

    id: Id
    label: Text


class AccountStep(PackModel):
    """One step of the abusive comments procedure for organisational accounts (Annex A)."""

    id: Id
    text: Text
    serious_only: bool = False


class Advice(PackModel):
    """A piece of advice for the reporter, shown when its ``when`` conditions hold."""

    id: Id
    text: Text
    link: Link | None = None
    link_from_platform: bool = False
    when: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    def applies(self, answers: Mapping[str, str | Iterable[str] | None]) -> bool:
        """Whether every condition matches the answers (one of the listed options each)."""
        for step_id, wanted in self.when.items():
            given = answers.get(step_id)
            chosen = {given} if isinstance(given, str) else set(given or ())
            if not chosen & set(wanted):
                return False
        return True


class AbuseReportPolicy(PackModel):
    """Everything ``/report-abuse`` says and offers."""

    reference_prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,6}$")] = "AB"
    steps: dict[str, Step]
    safety_advice: SafetyAdvice
    evidence_limits: EvidenceLimits
    escalation_targets: list[EscalationTarget] = Field(min_length=1)
    record_actions: list[RecordAction] = Field(min_length=1)
    close_asks: list[Ask] = Field(default_factory=list)
    organisational_account_steps: list[AccountStep] = Field(min_length=1)
    advice: list[Advice] = Field(default_factory=list)
    notices: dict[str, Text]

    def advice_for(self, answers: Mapping[str, str | Iterable[str] | None]) -> list[Advice]:
        """Return the advice to show for these answers, in pack order.

        Items with ``link_from_platform`` get the chosen platform's ``report_url`` as their
        link, and are left out if that platform has none.

        Args:
            answers: Step id to the chosen option id (or ids, for a multiple choice).

        Returns:
            The advice items whose conditions hold.
        """
        chosen: list[Advice] = []
        for item in self.advice:
            if not item.applies(answers):
                continue
            if item.link_from_platform:
                platform = answers.get("platform")
                try:
                    option = self.steps["platform"].option(str(platform))
                except KeyError:
                    continue
                if option.report_url is None:
                    continue
                link = Link(label=option.label, url=option.report_url)
                item = item.model_copy(update={"link": link})
            chosen.append(item)
        return chosen

    def escalation_target(self, target_id: str) -> EscalationTarget:
        """Return the escalation target with this id, or raise ``KeyError``."""
        for target in self.escalation_targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)

    @model_validator(mode="after")
    def _check(self) -> AbuseReportPolicy:
        problems = Problems()
        for step_id in STEP_KINDS:
            if step_id not in self.steps:
                problems.add(("steps",), f"missing step {step_id!r}")
        for step_id, step in self.steps.items():
            if step_id not in STEP_KINDS:
                problems.add(("steps", step_id), f"unknown step {step_id!r}")
                continue
            _check_step(problems, ("steps", step_id), step_id, step)
        for name in NOTICES:
            if name not in self.notices:
                problems.add(("notices",), f"missing notice {name!r}")
        for name, text in self.notices.items():
            if name not in NOTICES:
                problems.add(("notices", name), f"unknown notice {name!r}")
            check_placeholders(problems, ("notices", name), text, NOTICE_PLACEHOLDERS)
        for field in ("escalation_targets", "record_actions", "close_asks", "advice"):
            items = getattr(self, field)
            problems.check_unique((field,), [item.id for item in items])
        problems.check_unique(
            ("organisational_account_steps",), [s.id for s in self.organisational_account_steps]
        )
        for index, item in enumerate(self.advice):
            self._check_when(problems, ("advice", index), item)
        problems.raise_if_any()
        return self

    def _check_when(self, problems: Problems, loc: tuple[str | int, ...], item: Advice) -> None:
        for step_id, option_ids in item.when.items():
            step = self.steps.get(step_id)
            if step is None:
                problems.check_known((*loc, "when", step_id), step_id, self.steps, "step")
                continue
            known = {o.id for o in step.options}
            if not known:
                problems.add((*loc, "when", step_id), f"step {step_id!r} has no options")
            for i, option_id in enumerate(option_ids):
                if known and option_id not in known:
                    problems.check_known((*loc, "when", step_id, i), option_id, known, "option")
        if item.link_from_platform and item.link is not None:
            problems.add((*loc, "link"), "give either link or link_from_platform, not both")


def _check_step(problems: Problems, loc: tuple[str, ...], step_id: str, step: Step) -> None:
    kind = STEP_KINDS[step_id]
    ids = [o.id for o in step.options]
    problems.check_unique((*loc, "options"), ids)
    if kind in CHOICE_KINDS and len(ids) < 2:
        problems.add((*loc, "options"), f"step {step_id!r} is a choice: give at least two options")
    if kind not in CHOICE_KINDS and ids:
        problems.add((*loc, "options"), f"step {step_id!r} ({kind}) takes no options")
    if kind == "yes_no" and set(ids) != {"yes", "no"}:
        problems.add((*loc, "options"), "a yes/no step has exactly the options 'yes' and 'no'")
    for missing in sorted(REQUIRED_OPTIONS.get(step_id, frozenset()) - set(ids)):
        problems.add((*loc, "options"), f"step {step_id!r} needs an option with id {missing!r}")
    if step.max_length is not None and kind not in TEXT_KINDS:
        problems.add((*loc, "max_length"), f"step {step_id!r} ({kind}) takes no max_length")
    for i, option in enumerate(step.options):
        if step_id == "reporter_role":
            if option.reports_to not in REPORTS_TO:
                problems.add(
                    (*loc, "options", i, "reports_to"),
                    f"give reports_to: {' or '.join(sorted(REPORTS_TO))}",
                )
        elif option.reports_to is not None:
            problems.add((*loc, "options", i, "reports_to"), "only reporter_role options report")
        if step_id != "platform" and option.report_url is not None:
            problems.add((*loc, "options", i, "report_url"), "only platform options have one")
