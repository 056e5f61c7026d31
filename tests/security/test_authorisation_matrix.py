"""The authorisation matrix: every role in the default pack x every action, on Slack and Teams.

One person holds each role: a pack role through the pack's members, a case role by being the
reporter, the named line manager or the assignee of the report at hand, or the applicant or
the named supporter of the business case at hand (the owner of an approved presence is its
applicant). Before each press the case is put in a state where the action is legal, so the
only reason for a refusal is the role. Whether the role may is the pack's answer
(``PolicyPack.may``); ``test_the_matrix_follows_the_seed_policies`` checks that answer
against the seed policies for the cells that matter most.

Allowed presses work: the case moves on (or the event is on its timeline), or the form, the
details or the flow page opens. Refused presses change nothing, are answered politely (an
ephemeral message on Slack, the card on Teams) and are logged naming the person, the action
and the case reference. Presses go over the wire: signed ``block_actions`` and
``view_submission`` requests on Slack, ``adaptiveCard/action`` invokes on Teams.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from bot.actions import ActionName, ActionRef
from bot.cases.lifecycle import ACTION_EVENTS, CaseKind, apply
from bot.cases.service import open_case
from bot.flows.cards import page_metadata
from bot.flows.engine import FlowView
from bot.model import Platform
from bot.policy import CASE_ROLES
from bot.storage.repos import cases, events, sessions
from bot.storage.repos.cases import CaseRow
from tests.e2e.teams_support import eventually, eventually_async, execute_actions, shows
from tests.e2e.teams_support import input_ids as card_inputs
from tests.security.matrix import (
    CASE_ROLE_ORDER,
    CASE_STATE,
    MATRIX_PACK,
    OPENS_DETAILS,
    OPENS_EDIT,
    OPENS_FORM,
    PACK,
    PEOPLE,
    PLATFORMS,
    ROLES,
    SEED_POLICY,
    A,
    allowed,
    kind_of,
)
from tests.security.support import (
    Person,
    Served,
    abuse_report_pages,
    answers_of,
    business_case_pages,
    drop_drafts,
    invoke_card,
    served,
    slack_press,
    slack_submission,
    teams_press,
)
from tests.support.fake_slack import Call

REFUSAL = "you are not able to do that"
PRESSES = itertools.count(1)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def matrix(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with served(tmp_path_factory.mktemp("matrix"), MATRIX_PACK) as bot:
        yield bot


def test_every_case_action_is_tried_in_a_state_that_allows_it() -> None:
    for action, state in CASE_STATE.items():
        if action in ACTION_EVENTS:  # viewing and "checked" move nothing: legal anywhere
            apply(kind_of(action), state, ACTION_EVENTS[action])  # raises if not legal
    others = set(ActionName) - set(CASE_STATE)
    assert all(a.value.startswith(("flow.", "replies.")) for a in others), others
    assert set(CASE_ROLE_ORDER) == CASE_ROLES


@pytest.mark.parametrize(("role", "action", "expected"), SEED_POLICY)
def test_the_matrix_follows_the_seed_policies(
    role: str, action: ActionName, expected: bool
) -> None:
    assert allowed(role, action) is expected


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ActionName), ids=lambda a: a.value)
@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.value)
async def test_press(
    matrix: Served,
    platform: Platform,
    action: ActionName,
    role: str,
    caplog: pytest.LogCaptureFixture,
    figures: Callable[..., None],
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    who = PEOPLE[platform][role]
    await drop_drafts(matrix, who)
    may = allowed(role, action)
    if action in CASE_STATE:
        await press_on_a_case(matrix, who, action, role, may, caplog)
    else:
        assert may, "the default pack lets everyone walk the flows and see the replies"
        await press_in_a_flow(matrix, who, action)
    figures(
        "authorisation matrix",
        presses=1,
        allowed_and_worked=int(may),
        refused_politely_and_logged=int(not may),
    )


# --- presses on cases -------------------------------------------------------------------------


async def press_on_a_case(
    served: Served,
    who: Person,
    action: ActionName,
    role: str,
    may: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = await seed_case(served, who, kind_of(action), CASE_STATE[action], role)
    ref = ActionRef(action, case.id, case.version).encode()
    before = await timeline_of(served, case)
    if who.platform is Platform.SLACK:
        if may and action not in OPENS_FORM | OPENS_DETAILS | OPENS_EDIT:
            response = await served.bot.slack(slack_press(who, ref, trigger="t", channel="C0"))
            assert response.status == 200
            await eventually_async(lambda: moved(served, case, action, before))
            return
        call = await slack_answer(served, who, ref)
        shown = slack_shown(call)
    else:
        card = invoke_card(*await teams_press(served, who, {"action": ref}))
        shown = teams_shown(card, ref)
    if not may:
        assert shown == "refused", (shown, role, action)
        after = await reread(served, case)
        assert (after.state, after.version) == (case.state, case.version), "nothing changed"
        assert await timeline_of(served, case) == before
        assert refusal_logged(caplog, action, case, who), "the refusal is logged"
        return
    if action in OPENS_FORM:
        assert shown == "form", shown
    elif action in OPENS_DETAILS:
        assert shown == "details", shown
    elif action in OPENS_EDIT:
        assert shown == "flow", shown
    else:
        assert await moved(served, case, action, before), (shown, role, action)


async def seed_case(served: Served, who: Person, kind: CaseKind, state: str, role: str) -> CaseRow:
    """A case on ``who``'s platform, in ``state``, whose people are the matrix's case roles."""
    cast = PEOPLE[who.platform]
    if kind is CaseKind.ABUSE_REPORT:
        reporter = cast["case_reporter"]
        answers = answers_of(abuse_report_pages(cast["case_line_manager"].user_id))
        prefix = PACK.abuse_report.reference_prefix
    else:
        owner = role in ("case_applicant", "presence_owner")
        reporter = who if owner else cast["case_applicant"]
        answers = answers_of(business_case_pages(PACK, cast["case_supporter"].user_id))
        prefix = PACK.business_case.reference_prefix
    async with served.bot.core.db.begin() as s:
        opened = await open_case(s, kind=kind, prefix=prefix, actor=reporter.actor, answers=answers)
        changes: dict[str, Any] = {"state": state}
        if kind is CaseKind.ABUSE_REPORT:
            changes["assignee"] = cast["case_assignee"].actor
        assert await cases.update(session=s, case_id=opened.case_id, expected_version=1, **changes)
        row = await cases.get(session=s, case_id=opened.case_id)
    assert row is not None and row.state == state
    return row


async def reread(served: Served, case: CaseRow) -> CaseRow:
    async with served.bot.core.db() as s:
        row = await cases.get(session=s, case_id=case.id)
    assert row is not None
    return row


async def timeline_of(served: Served, case: CaseRow) -> list[tuple[str, str]]:
    async with served.bot.core.db() as s:
        rows = await events.timeline(session=s, case_id=case.id)
    return [(row.event, row.actor_key) for row in rows]


async def moved(served: Served, case: CaseRow, action: ActionName, before: list[Any]) -> bool:
    """The press did its work: the state the lifecycle gives, and the event on the timeline."""
    event = ACTION_EVENTS.get(action)
    after = await reread(served, case)
    expected = apply(kind_of(action), case.state, event) if event else case.state
    added = (await timeline_of(served, case))[len(before) :]
    name = event.value if event else "presence_checked"
    return after.state == expected and [e for e, _ in added] == [name]


def refusal_logged(
    caplog: pytest.LogCaptureFixture, action: ActionName, case: CaseRow, who: Person
) -> bool:
    return any(
        "refused" in message
        and action.value in message
        and case.reference in message
        and who.identity in message
        for message in (record.getMessage() for record in caplog.records)
    )


async def slack_answer(served: Served, who: Person, value: str, view: Any = None) -> Call:
    """Press on Slack; the modal opened (or updated) or the ephemeral message posted."""
    number = next(PRESSES)
    trigger, channel, view_id = f"trigger-{number}", f"C0PRESS{number}", f"V0PRESS{number}"
    in_modal = {**view, "id": view_id} if view is not None else None
    response = await served.bot.slack(
        slack_press(who, value, trigger=trigger, channel=channel, view=in_modal)
    )
    assert response.status == 200

    def answered() -> Call | None:
        for call in served.slack.calls:
            if (
                (call.method == "views.open" and call.body.get("trigger_id") == trigger)
                or (call.method == "views.update" and call.body.get("view_id") == view_id)
                or (call.method == "chat.postEphemeral" and call.body.get("channel") == channel)
            ):
                return call
        return None

    return await eventually(answered)


def slack_shown(call: Call) -> str:
    """What a Slack answer showed the person: refused, a form, details, or a flow page."""
    if call.method == "chat.postEphemeral":
        assert call.body["user"] and REFUSAL in call.body["text"], call.body
        return "refused"
    view = call.json_arg("view")
    return {"case_form": "form", "case_details": "details", "flow": "flow"}.get(
        view["callback_id"], view["callback_id"]
    )


def teams_shown(card: dict[str, Any], ref: str) -> str:
    """What a Teams invoke answer showed: refused, a form, details, a flow page or the card."""
    text = shows(card)
    if REFUSAL in text:
        return "refused"
    inputs = card_inputs(card)
    if any(action["data"].get("action") == ref for action in execute_actions(card)) and inputs:
        return "form"
    if inputs and all(i.startswith("check_") for i in inputs):
        return "flow"
    if text.startswith(("Details ", "Full case ")):
        return "details"
    return "card"


# --- presses in flows -------------------------------------------------------------------------


async def press_in_a_flow(served: Served, who: Person, action: ActionName) -> None:
    """Flows and the reply helper: the page, receipt or card each button leads to."""
    if action in (A.FLOW_START_ABUSE_REPORT, A.FLOW_START_BUSINESS_CASE):
        first = "safety" if action is A.FLOW_START_ABUSE_REPORT else "check_"
        shown = await flow_button(served, who, ActionRef(action).encode(), in_modal=False)
        assert shown["inputs"] and shown["inputs"][0].startswith(first), shown
    elif action is A.REPLIES_SHOW:
        shown = await flow_button(served, who, ActionRef(action).encode(), in_modal=False)
        assert "Ready-made replies" in shown["text"], shown
    elif action in (A.FLOW_NEXT, A.FLOW_SUBMIT):
        await answer_a_page(served, who, action)
    else:
        await draft_button(served, who, action)


async def walk(served: Served, who: Person, until: str) -> FlowView:
    """Start an abuse report for ``who`` and answer its pages until ``until`` is showing."""
    core = served.bot.core
    view = await core.flows.start(actor=who.actor, flow="abuse_report")
    for page_id, values in abuse_report_pages(PEOPLE[who.platform]["case_line_manager"].user_id):
        if view.page.id == until:
            break
        assert view.page.id == page_id
        answered = await core.flows.answer(
            draft_id=view.draft.id, actor=who.actor, page_id=page_id, values=values
        )
        assert isinstance(answered, FlowView) and not answered.errors
        view = answered
    assert view.page.id == until
    return view


async def answer_a_page(served: Served, who: Person, action: ActionName) -> None:
    """Next (the first page) or submit (the review page) through the wire."""
    last = action is A.FLOW_SUBMIT
    view = await walk(served, who, "review" if last else "safety")
    metadata = page_metadata(view)
    if who.platform is Platform.SLACK:
        element = (
            {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
            if last
            else {"type": "radio_buttons", "selected_option": {"value": "no"}}
        )
        response = await served.bot.slack(
            slack_submission(who, metadata, {"review" if last else "safety": element})
        )
        assert response.status == 200
        body = await response.json()
        assert body["response_action"] == "update", body
        text = json.dumps(body["view"])
    else:
        ref = ActionRef(action, view.draft.id, view.draft.version).encode()
        answer = {"review": "yes"} if last else {"safety": "no"}
        card = invoke_card(
            *await teams_press(served, who, {"action": ref, "metadata": metadata, **answer})
        )
        text = shows(card)
    async with served.bot.core.db() as s:
        draft = await sessions.get(session=s, session_id=view.draft.id)
        mine = [c for c in await cases.list(session=s) if c.reporter_key == who.identity]
    assert draft is not None
    if last:
        assert draft.status == "submitted" and len(mine) == 1
        assert mine[0].reference in text, "the receipt names the reference"
    else:
        assert draft.step == "about_you" and not mine


async def draft_button(served: Served, who: Person, action: ActionName) -> None:
    """Back, discard, resume and stop-for-now on a draft that is on its second page."""
    view = await walk(served, who, "about_you")
    ref = ActionRef(action, view.draft.id, view.draft.version).encode()
    modal = {"type": "modal", "callback_id": "flow", "private_metadata": page_metadata(view)}
    shown = await flow_button(served, who, ref, in_modal=action is not A.FLOW_RESUME, view=modal)
    async with served.bot.core.db() as s:
        draft = await sessions.get(session=s, session_id=view.draft.id)
    assert draft is not None
    if action is A.FLOW_BACK:
        assert shown["inputs"] == ["safety"] and draft.step == "safety"
    elif action is A.FLOW_DISCARD:
        assert "Draft discarded" in shown["text"] and draft.status == "discarded"
    elif action is A.FLOW_RESUME:
        assert shown["inputs"] == ["reporter_role", "directorate"], shown
        assert "Welcome back" in shown["text"] and draft.version == view.draft.version
    else:
        assert action is A.FLOW_CANCEL
        assert "Your draft is saved" in shown["text"]
        assert (draft.status, draft.version) == ("open", view.draft.version), "draft kept as it was"


async def flow_button(
    served: Served, who: Person, ref: str, *, in_modal: bool, view: Any = None
) -> dict[str, Any]:
    """Press a button through the wire; the inputs and text of the page or card shown."""
    if who.platform is Platform.SLACK:
        call = await slack_answer(served, who, ref, view=view if in_modal else None)
        assert call.method in ("views.open", "views.update"), call.body
        shown = call.json_arg("view")
        inputs = [b["block_id"] for b in shown["blocks"] if b.get("type") == "input"]
        return {"inputs": inputs, "text": json.dumps(shown, ensure_ascii=False)}
    card = invoke_card(*await teams_press(served, who, {"action": ref}))
    return {"inputs": card_inputs(card), "text": shows(card)}
