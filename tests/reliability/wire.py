"""The reliability runs' workload, through the wire: reports and presses on both platforms.

Many people act at once, so each must find their own answers: a Slack reporter's modal is
the one opened for their slash command's ``trigger_id``, a Teams reporter has their own
personal chat, and each case has its own manager on each platform (whose form modal is
theirs alone). Everything goes through signed Slack requests and Bot Framework activities
into the served bot (a ``Site``: the app served in the test, or a ``python -m bot serve``
process); nothing is called in the core directly.

A modal submission Slack does not see answered within its three seconds fails for the
person, who presses the button again: so do these people (``tally`` counts it). When that
happens on the last page the report may be stored without the reporter seeing the receipt;
the case is then found by its reporter, and counted.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import ActionName, ActionRef
from bot.flows.cards import parse_metadata
from bot.policy import PolicyPack, load_default_pack
from bot.policy.organisation import Role
from bot.storage.repos import cases
from bot.storage.repos.cases import CaseRow
from tests.e2e.teams_support import ADMIN, LINE_MANAGER, TRIAGE_CHANNEL, TeamsUser, TeamsWire
from tests.e2e.test_slack_triage import press
from tests.e2e.test_slack_wire import FULL_REPORT, submission
from tests.e2e.test_teams_scenario import POLICE
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import slash_command_body

T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]

SLACK_TRIAGE = "C0TRIAGE"
TEAMS_TRIAGE = TRIAGE_CHANNEL
SLACK_ADMIN = "U0ADMIN"
REFERENCE = re.compile(r"\bAB-\d{4}-\d{4,}\b")
SLACK_ESCALATION = {
    "target": {"type": "static_select", "selected_option": {"value": "police"}},
    "police.number": {"type": "radio_buttons", "selected_option": {"value": "emergency_999"}},
    "police.police_reference": {"type": "plain_text_input", "value": "CAD-99"},
}


# The shortest legal path on Teams: what is not named takes the first choice or some text.
TEAMS_REPORT: list[dict[str, str]] = [
    {"safety": "no"},
    {"reporter_role": "staff"},
    {"line_manager": LINE_MANAGER.aad},
    {"account_kind": "own", "channel": "email"},
    {"kind": "threat", "started_on": "2026-11-01", "ongoing": "yes"},
    {},  # the evidence page: no files
    {"protected_characteristics": "none", "details_exposed": "no", "replied": "no"},
    {"review": "yes"},
]


@dataclass
class Site:
    """A served bot: its HTTP endpoints (a ``BotClient`` or a ``serve`` process's
    ``Replica``), and its database, where the test looks up what the bot stored."""

    http: Any
    db: Sessions

    async def slack(
        self, body: str, *, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        response: aiohttp.ClientResponse = await self.http.slack(body, headers=headers)
        return response

    async def teams(
        self, activity: dict[str, Any], *, token: str | None = None
    ) -> aiohttp.ClientResponse:
        response: aiohttp.ClientResponse = await self.http.teams(activity, token=token)
        return response


def slack_reporter(number: int) -> str:
    return f"U0REP{number:04d}"


def slack_manager(number: int) -> str:
    return f"U0MGR{number:04d}"


def teams_person(number: int, role: int) -> TeamsUser:
    """A Teams user: ``role`` 1 reports, 2 manages (numbers kept apart from teams_support's)."""
    serial = 1000 * role + number + 100
    return TeamsUser(
        f"0b5c3e55-{role}{role}{role}{role}-4333-8444-{serial:012d}",
        f"Person {role}-{number}",
        f"29:user-{role}-{number}",
        f"a:personal-{role}-{number}",
    )


def pack_for(cases_count: int) -> PolicyPack:
    """The default pack with a manager per case on each platform, and the administrators."""
    pack = load_default_pack()
    roles = dict(pack.roles)
    managers = [f"slack:{slack_manager(n)}" for n in range(cases_count)]
    managers += [teams_person(n, 2).identity for n in range(cases_count)]
    roles["triage_manager"] = Role(label="Abuse report triage", members=managers)
    roles["admin"] = Role(label="Administrators", members=[f"slack:{SLACK_ADMIN}", ADMIN.identity])
    return pack.model_copy(update={"roles": roles})


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float, what: str) -> T:
    """Await ``probe()`` until it gives something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.2)  # gently: every look is a transaction on the bot's SQLite


async def bind_triage_channels(bot: Site, teams: TeamsWire) -> None:
    """An administrator binds the abuse triage channel on both platforms."""
    body = slash_command_body(
        "/staff-safety", user_id=SLACK_ADMIN, text="bind abuse-triage", channel_id=SLACK_TRIAGE
    )
    assert "Done" in await (await bot.slack(body)).text()
    bound = await teams.say(ADMIN, "bind abuse-triage", conversation=TEAMS_TRIAGE)
    assert "Done" in json.dumps(bound)


# --- reports --------------------------------------------------------------------------------


async def opened_view(fake_slack: FakeSlack, trigger_id: str, count: int = 1) -> dict[str, Any]:
    """The ``count``-th modal Slack was asked to open for ``trigger_id``."""

    async def find() -> dict[str, Any] | None:
        calls = [c for c in fake_slack.called("views.open") if c.body["trigger_id"] == trigger_id]
        view = calls[count - 1].json_arg("view") if len(calls) >= count else None
        return view if isinstance(view, dict) else None

    return await eventually(find, within=30, what=f"views.open for {trigger_id}")


async def slack_submit(bot: Site, body: str, tally: Counter[str]) -> dict[str, Any]:
    """POST a modal submission; if Slack's three seconds ran out (bolt answers 404 when no
    ``ack`` came in time), the person sees an error and submits again."""
    for _ in range(5):
        response = await bot.slack(body)
        text = await response.text()
        if response.status == 200:
            answer: dict[str, Any] = json.loads(text) if text else {}
            return answer
        assert response.status == 404 and "unhandled request" in text, (response.status, text)
        tally["Slack submissions not answered within 3 s (sent again)"] += 1
        await asyncio.sleep(0.5)
    raise AssertionError("five submissions in a row missed Slack's three seconds")


async def slack_report(
    bot: Site,
    fake_slack: FakeSlack,
    number: int,
    tally: Counter[str],
    *,
    evidence: Sequence[dict[str, Any]] = (),
) -> tuple[str, bool]:
    """A report by a Slack reporter on the shortest path (with ``evidence``, files attached
    as ``FakeSlack.add_file`` gives them): its reference, and whether the reporter saw it
    on the receipt."""
    user, trigger = slack_reporter(number), f"report-{number}"
    command = slash_command_body("/report-abuse", user_id=user, trigger_id=trigger)
    assert (await bot.slack(command)).status == 200
    view = await opened_view(fake_slack, trigger)
    for values in FULL_REPORT:
        if "evidence" in values and evidence:
            files = {"evidence": {"type": "file_input", "files": list(evidence)}}
            await slack_submit(bot, submission(view, files, user), tally)  # "saving…"
            view = {**view, **await view_after_files(fake_slack, view)}
            continue
        answer = await slack_submit(bot, submission(view, values, user), tally)
        view = {**view, **answer["view"]}
    found = set(REFERENCE.findall(json.dumps(answer)))
    if found:
        return found.pop(), True
    tally["reports stored with no receipt seen"] += 1
    return await stored_reference(bot, f"slack:{user}"), False


async def view_after_files(fake_slack: FakeSlack, view: dict[str, Any]) -> dict[str, Any]:
    """The page Slack was told to show (``views.update``) once this draft's files were
    stored: files take longer than Slack's three seconds, so they are answered later."""
    draft_id, page_id = parse_metadata(view["private_metadata"])

    async def find() -> dict[str, Any] | None:
        for call in fake_slack.called("views.update"):
            shown = call.json_arg("view")
            metadata = str(shown.get("private_metadata", ""))
            if metadata.startswith(draft_id) and parse_metadata(metadata)[1] != page_id:
                return dict(shown)
        return None

    return await eventually(find, within=30, what=f"the page after draft {draft_id}'s files")


async def stored_reference(bot: Site, reporter_key: str) -> str:
    """The reference of the one report ``reporter_key`` made (when the receipt was lost)."""
    async with bot.db() as s:
        [case] = await cases.list(session=s, kind="abuse_report", reporter_key=reporter_key)
    return case.reference


async def teams_report(teams: TeamsWire, number: int) -> str:
    """A report by a Teams reporter on the shortest path; the reference on the receipt."""
    reporter = teams_person(number, 1)
    card = await teams.say(reporter, "report abuse")
    for values in TEAMS_REPORT:
        card = await teams.submit_form(reporter, card, **values)
    [reference] = set(REFERENCE.findall(json.dumps(card)))
    return reference


# --- presses ---------------------------------------------------------------------------------


async def the_case(bot: Site, reference: str) -> CaseRow:
    async with bot.db() as s:
        case = await cases.get_by_reference(session=s, reference=reference)
    assert case is not None, reference
    return case


async def slack_press(
    bot: Site,
    fake_slack: FakeSlack,
    manager: str,
    ref: ActionRef,
    tally: Counter[str],
    form: dict[str, dict[str, Any]] | None = None,
) -> None:
    """A button on the Slack triage card; with ``form``, the modal it opens is submitted."""
    opened = len(
        [c for c in fake_slack.called("views.open") if c.body["trigger_id"] == f"t-{manager}"]
    )
    await press(bot, manager, ref.encode())
    if form is not None:
        view = await opened_view(fake_slack, f"t-{manager}", opened + 1)
        answer = await slack_submit(bot, submission(view, form, manager), tally)
        assert answer.get("response_action") in (None, "update"), answer


async def teams_press(
    teams: TeamsWire, manager: TeamsUser, ref: ActionRef, form: dict[str, str] | None = None
) -> dict[str, Any]:
    """A button on the Teams triage card; with ``form``, the form card it returns is sent."""
    card = await teams.press(manager, {"action": ref.encode()}, conversation=TEAMS_TRIAGE)
    if form is not None:
        card = await teams.submit_form(manager, card, conversation=TEAMS_TRIAGE, **form)
    return card


class Presser:
    """Presses the buttons of one case's triage card, as that case's manager on a platform."""

    def __init__(
        self,
        bot: Site,
        fake_slack: FakeSlack,
        teams: TeamsWire,
        platform: str,
        number: int,
        tally: Counter[str],
    ) -> None:
        self.bot, self.fake_slack, self.teams = bot, fake_slack, teams
        self.platform, self.number, self.tally = platform, number, tally

    async def press(self, name: ActionName, version: int, case_id: str, form: bool) -> None:
        """One press (and its form, when the button asks for one) at the card's ``version``."""
        ref = ActionRef(name, case_id, version)
        if self.platform == "slack":
            manager = slack_manager(self.number)
            await slack_press(
                self.bot,
                self.fake_slack,
                manager,
                ref,
                self.tally,
                SLACK_ESCALATION if form else None,
            )
        else:
            await teams_press(
                self.teams, teams_person(self.number, 2), ref, dict(POLICE) if form else None
            )

    async def settled_at(self, reference: str, version: int) -> CaseRow:
        """The case once a press's change is stored (Slack handles a press after its ack)."""

        async def moved() -> CaseRow | None:
            case = await the_case(self.bot, reference)
            return case if case.version >= version else None

        return await eventually(moved, within=60, what=f"{reference} reaching version {version}")


# Each script is two presses of the case's card: legal moves, a stale press of a card
# already acted on, and a double press (two arrive at once; one may act).
SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("acknowledge", "check_in"),
    ("acknowledge", "stale acknowledge"),
    ("double acknowledge",),
    ("acknowledge", "escalate"),
)
PRESSES_PER_SCRIPT = 2


async def run_script(presser: Presser, reference: str, script: tuple[str, ...]) -> int:
    """Press through ``script`` on the case; returns how many presses were made."""
    case = await the_case(presser.bot, reference)
    first = case.version
    made = 0
    for step in script:
        if step == "double acknowledge":
            await asyncio.gather(
                *(presser.press(ActionName.CASE_ACKNOWLEDGE, first, case.id, False) for _ in "ab")
            )
            made += 2
            case = await presser.settled_at(reference, first + 1)
            continue
        name = {
            "acknowledge": ActionName.CASE_ACKNOWLEDGE,
            "stale acknowledge": ActionName.CASE_ACKNOWLEDGE,
            "check_in": ActionName.CASE_CHECK_IN,
            "escalate": ActionName.CASE_ESCALATE,
        }[step]
        version = first if step.startswith("stale") else case.version
        await presser.press(name, version, case.id, form=step == "escalate")
        made += 1
        if not step.startswith("stale"):
            case = await presser.settled_at(reference, version + 1)
    return made
