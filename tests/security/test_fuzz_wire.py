"""Bad input through the wire, driven by hypothesis over every field of both flows.

For each page of the abuse report and the business case (and both branches of "who should
have your report"), hypothesis fills every field of the page at once, each with a value a
person could give, a value of the wrong type (a number, a list or an object where text is
asked for, in every place Slack's or Teams' payload can carry one), text over its limit (up
to 20,000 characters; a million in the long run), hostile text (control characters, lone
surrogates, markup), an unknown option, a malformed person or date, files the bot never
received, or nothing at all. Extra fields the page does not have are thrown in too. The page
is submitted as Slack sends it (a signed ``view_submission``) and as Teams does (an
``adaptiveCard/action`` invoke with the data), to a draft standing on that page.

Whatever is sent: never a 5xx. A page with an invalid field is refused with an error on
every invalid field (Slack: ``response_action: errors`` keyed by block id; Teams: the page
back with the message on the input), text over its limit is refused naming the limit, and
nothing is stored half-way: the draft, the cases and the outbox are as they were. A page
with only valid answers moves on and keeps exactly those answers; the last page opens the
case. Hostile text, if kept, is kept clean (no control characters or lone surrogates) and
within its limit.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.actions import ActionName, ActionRef
from bot.flows import abuse_report, business_case
from bot.flows.spec import LIST_KINDS, TEXT_KINDS, UNTYPEABLE, FlowSpec, Step
from bot.model import Platform
from bot.policy import load_default_pack
from bot.storage.repos import cases, sessions
from tests.e2e.teams_support import alerts
from tests.security.fields import INVALID, MISSING, VALID, Field, page_values
from tests.security.support import (
    Person,
    Served,
    Stored,
    abuse_report_pages,
    answers_of,
    business_case_pages,
    person,
    served,
    slack_submission,
    stored,
    teams_press,
)

PACK = load_default_pack()
SPECS: dict[str, FlowSpec] = {
    "abuse_report": abuse_report.build_spec(PACK),
    "business_case": business_case.build_spec(PACK),
}
EXAMPLES, LONG_EXAMPLES = 40, 250
HUGE, LONG_HUGE = 20_000, 1_000_000
PEOPLE = itertools.count(1)


def abuse_pages(branch: str) -> list[tuple[str, dict[str, Any]]]:
    """The abuse report's pages with the branches that show the most fields: an
    organisational account on social media (the platform and Annex A's steps), and either
    a line manager (staff) or a project team contact (a committee member)."""
    pages = dict(abuse_report_pages("U0LINEMGR1"))
    pages["account"] = {"account_kind": "organisational", "channel": "social_media"}
    pages["what_happened"] = {**pages["what_happened"], "platform": "twitter_x"}
    if branch == "project team":
        pages["about_you"] = {**pages["about_you"], "reporter_role": "committee_member"}
        pages["who"] = {"project_contact": ["U0PROJECT1"]}
    return list(pages.items())


@dataclass(frozen=True)
class PageCase:
    flow: str
    page: str
    pages: list[tuple[str, dict[str, Any]]]
    branch: str = ""

    @property
    def id(self) -> str:
        return f"{self.flow}:{self.page}" + (f"({self.branch})" if self.branch else "")

    @property
    def before(self) -> list[tuple[str, dict[str, Any]]]:
        ids = [page for page, _ in self.pages]
        return self.pages[: ids.index(self.page)]

    def steps(self) -> tuple[Step, ...]:
        page = SPECS[self.flow].page(self.page)
        return tuple(s for s in page.visible_steps(answers_of(self.before)) if s.takes_answer)


PAGE_CASES = [
    *(PageCase("abuse_report", page, abuse_pages("staff")) for page, _ in abuse_pages("staff")),
    PageCase("abuse_report", "who", abuse_pages("project team"), "project team"),
    *(
        PageCase("business_case", page, business_case_pages(PACK, "U0LINEMGR1"))
        for page, _ in business_case_pages(PACK, "U0LINEMGR1")
    ),
]


def test_every_field_of_both_flows_is_fuzzed() -> None:
    """Each flow step that takes an answer is on a fuzzed page, and free text has a limit."""
    fuzzed = {(case.flow, step.id) for case in PAGE_CASES for step in case.steps()}
    for flow, spec in SPECS.items():
        for page in spec.pages:
            for step in page.steps:
                if step.takes_answer:
                    assert (flow, step.id) in fuzzed, f"{flow}.{step.id} is not fuzzed"
                if step.kind in TEXT_KINDS:
                    assert step.limit, f"{flow}.{step.id} has no server-side limit"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fuzz(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with served(tmp_path_factory.mktemp("fuzz"), PACK) as bot:
        yield bot


@dataclass
class Tally:
    """What one example saw, added to the suite's figures (printed at the end of the run)."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "examples",
                "accepted",
                "refused",
                "status_2xx",
                "status_4xx",
                "status_5xx",
                "invalid_fields",
                "invalid_fields_named",
                "limits_named",
                "rows_stored_on_refusal",
            ),
            0,
        )
    )

    def add(self, **counts: int) -> None:
        for key, value in counts.items():
            self.counts[key] += value


@dataclass
class Outcome:
    status: int
    errors: dict[str, str] | None  # field id -> message when the page was refused
    text: str


EXTRAS = st.dictionaries(
    st.sampled_from(["not_a_step", "__proto__", "constructor", "review_extra"]),
    st.one_of(st.text(max_size=20), st.integers()),
    max_size=2,
)


async def run_example(
    served: Served, platform: Platform, case: PageCase, fields: dict[str, Field], extras: Any
) -> Tally:
    """Submit one page with ``fields`` to a fresh draft on it, and check what happened."""
    who = person(platform, next(PEOPLE), "Fuzz Person")
    draft = await draft_on(served, who, case)
    before = await stored(served)
    submit = submit_on_slack if platform is Platform.SLACK else submit_on_teams
    outcome = await submit(served, who, draft, case, fields, extras)
    tally = Tally()
    tally.add(examples=1, **{f"status_{outcome.status // 100}xx": 1})
    assert outcome.status < 500, outcome.text[:500]
    assert outcome.status == 200, (outcome.status, outcome.text[:500])
    async with served.bot.core.db() as s:
        after = await sessions.get(session=s, session_id=draft.id)
    assert after is not None
    invalid = {i: f for i, f in fields.items() if f.verdict == INVALID}
    tally.add(invalid_fields=len(invalid))
    if after.version == draft.version and after.status == "open":
        assert any(f.verdict != VALID for f in fields.values()), f"refused: {outcome.errors}"
        await check_refused(served, draft, after, invalid, outcome, before, tally)
    else:
        assert not invalid, f"accepted with invalid fields {sorted(invalid)}"
        await check_accepted(served, who, case, fields, after, before, platform)
        tally.add(accepted=1)
    return tally


async def check_refused(
    served: Served,
    draft: Any,
    after: Any,
    invalid: dict[str, Field],
    outcome: Outcome,
    before: Stored,
    tally: Tally,
) -> None:
    """An error on every invalid field (naming any limit), and nothing stored."""
    assert outcome.errors, "a refused page says what is wrong"
    named = set(invalid) & set(outcome.errors)
    assert named == set(invalid), f"no error on {sorted(set(invalid) - named)}"
    for field_id, value in invalid.items():
        if value.limit is not None:
            assert f"{value.limit:,}" in outcome.errors[field_id], outcome.errors[field_id]
            tally.add(limits_named=1)
    assert (after.step, after.answers) == (draft.step, draft.answers), "the draft is unchanged"
    left = await stored(served)
    rows = left.cases - before.cases + left.outbox - before.outbox
    tally.add(refused=1, invalid_fields_named=len(named), rows_stored_on_refusal=rows)
    assert left == before, "nothing is stored for a refused page"


async def check_accepted(
    served: Served,
    who: Person,
    case: PageCase,
    fields: dict[str, Field],
    after: Any,
    before: Stored,
    platform: Platform,
) -> None:
    """Valid answers kept exactly, any answer kept clean, and the draft moved on."""
    if all(f.verdict == VALID for f in fields.values()):
        for field_id, value in fields.items():
            kept = value.kept(teams=platform is Platform.TEAMS)
            assert after.answers.get(field_id) == kept, field_id
    for step in case.steps():
        assert clean(step, after.answers.get(step.id)), (step.id, after.answers.get(step.id))
    await check_moved_on(served, who, case, after, before)


async def draft_on(served: Served, who: Person, case: PageCase) -> Any:
    """A draft standing on the case's page, with the earlier pages answered."""
    async with served.bot.core.db.begin() as s:
        return await sessions.create(
            session=s,
            platform=who.platform.value,
            user_id=who.user_id,
            flow=case.flow,
            step=case.page,
            answers=answers_of(case.before),
            history=[page for page, _ in case.before],
        )


async def submit_on_slack(
    served: Served, who: Person, draft: Any, case: PageCase, fields: dict[str, Field], extras: Any
) -> Outcome:
    state = {i: f.slack for i, f in fields.items() if f.slack is not MISSING}
    state.update({key: {"type": "plain_text_input", "value": v} for key, v in extras.items()})
    response = await served.bot.slack(slack_submission(who, f"{draft.id}:{case.page}", state))
    text = await response.text()
    if response.status != 200:
        return Outcome(response.status, None, text)
    body = await response.json()
    errors = body.get("errors") if body.get("response_action") == "errors" else None
    return Outcome(response.status, errors, text)


async def submit_on_teams(
    served: Served, who: Person, draft: Any, case: PageCase, fields: dict[str, Field], extras: Any
) -> Outcome:
    data = {i: f.teams for i, f in fields.items() if f.teams is not MISSING}
    data.update(extras)
    ref = ActionRef(ActionName.FLOW_NEXT, draft.id, draft.version).encode()
    status, body = await teams_press(
        served, who, {**data, "action": ref, "metadata": f"{draft.id}:{case.page}"}
    )
    if status != 200:
        return Outcome(status, None, str(body))
    card = body["value"]
    errors = {i["id"]: i["errorMessage"] for i in card_inputs(card) if i.get("errorMessage")}
    # The refused page lists "label: error" at its top (its inputs may not all fit a card;
    # files are asked for in words on Teams, so only the list names them).
    for step in case.steps():
        for alert in alerts(card):
            if step.id not in errors and alert.startswith(f"{step.label}: "):
                errors[step.id] = alert[len(step.label) + 2 :]
    return Outcome(status, errors or None, str(body))


def card_inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in card.get("body", []) if str(i.get("type", "")).startswith("Input.")]


def clean(step: Step, value: Any) -> bool:
    """A kept answer is of its step's type, within its limit, without untypeable text."""
    if step.kind in LIST_KINDS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not isinstance(value, str) or UNTYPEABLE.search(value):
        return False
    return step.limit is None or len(value) <= step.limit


async def check_moved_on(
    served: Served, who: Person, case: PageCase, after: Any, before: Stored
) -> None:
    """An accepted page moved the draft on; the last page opened exactly one case."""
    last = case.page == SPECS[case.flow].pages[-1].id
    async with served.bot.core.db() as s:
        mine = [c for c in await cases.list(session=s) if c.reporter_key == who.identity]
    if last:
        assert after.status == "submitted" and len(mine) == 1
    else:
        assert after.status == "open" and after.step != case.page and not mine
        assert await stored(served) == before


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("platform", [Platform.SLACK, Platform.TEAMS], ids=lambda p: p.value)
async def test_oversize_text_is_refused_with_its_limit_named(
    fuzz: Served, platform: Platform
) -> None:
    """One example spelled out: 3,001 characters of "what happened" on either platform."""
    who = person(platform, next(PEOPLE), "Long Writer")
    case = next(c for c in PAGE_CASES if c.page == "what_happened")
    draft = await draft_on(fuzz, who, case)
    text = "x" * 3001
    description = Field(INVALID, {"type": "plain_text_input", "value": text}, text, limit=3000)
    submit = submit_on_slack if platform is Platform.SLACK else submit_on_teams
    outcome = await submit(fuzz, who, draft, case, {"description": description}, {})
    assert outcome.status == 200 and outcome.errors is not None
    assert outcome.errors["description"] == (
        "Please keep this to 3,000 characters or fewer (it is 3,001)."
    )


FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


async def fuzz_once(
    served: Served,
    platform: Platform,
    case: PageCase,
    data: st.DataObject,
    huge: int,
    figures: Callable[..., None],
    run: str = "",
) -> None:
    fields = data.draw(page_values(case.steps(), huge), label="fields")
    extras = data.draw(EXTRAS, label="extra fields")
    tally = await run_example(served, platform, case, fields, extras)
    figures(f"fuzz {platform.value} {case.flow}{run}", **tally.counts)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("platform", [Platform.SLACK, Platform.TEAMS], ids=lambda p: p.value)
@settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
@given(data=st.data())
async def test_fuzz_page(
    fuzz: Served,
    platform: Platform,
    case: PageCase,
    figures: Callable[..., None],
    data: st.DataObject,
) -> None:
    await fuzz_once(fuzz, platform, case, data, HUGE, figures)


@pytest.mark.long
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("flow", list(SPECS))
@pytest.mark.parametrize("platform", [Platform.SLACK, Platform.TEAMS], ids=lambda p: p.value)
@settings(FUZZ_SETTINGS, max_examples=LONG_EXAMPLES)
@given(data=st.data())
async def test_fuzz_flow_long(
    fuzz: Served,
    platform: Platform,
    flow: str,
    figures: Callable[..., None],
    data: st.DataObject,
) -> None:
    """The long run: any page of the flow, more examples, oversize text up to a million."""
    case = data.draw(st.sampled_from([c for c in PAGE_CASES if c.flow == flow]), label="page")
    await fuzz_once(fuzz, platform, case, data, LONG_HUGE, figures, run=" (long run)")
