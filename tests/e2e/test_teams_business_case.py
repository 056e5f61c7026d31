"""The /social-case scenario on Teams, through the wire (DOMAIN.md section 2, issue 4).

Bot Framework activities are POSTed to the served bot: the command ``social case`` in the
personal chat, ``Action.Execute`` presses on the pages and on the case cards, ``bind``
commands in team channels. What the bot does is read back from the fake connector: replies,
invoke responses, the line manager's created one-to-one chat, channel posts and their
updates in place. Every card returned or sent is checked against the Adaptive Card 1.5
schema (``teams_support.check_card``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.policy import load_default_pack
from bot.policy.organisation import Role
from bot.storage.repos import cases, events, presences
from tests.e2e.teams_support import (
    ADMIN,
    BOARD_MEMBER,
    LINE_MANAGER,
    REPORTER,
    STRANGER,
    TeamsUser,
    TeamsWire,
    alerts,
    button,
    button_titles,
    check_card,
    eventually,
    facts,
    filled,
    input_ids,
    inputs,
    is_people_picker,
    only_case,
    people_events,
    served_bot,
    shows,
    submit_data,
)
from tests.renderers.support import teams_shows
from tests.support.bot_fixtures import BotClient
from tests.support.fake_connector import FakeConnector, card_action_activity

PACK = load_default_pack()
POLICY = PACK.business_case
APPLICANT = REPORTER
POINTS = [f"check_{point.id}" for point in POLICY.checklist]
NO_POINT, NOT_SURE_POINT = POLICY.checklist[0], POLICY.checklist[1]
APPLICANT_IDS = [
    *(f.id for f in POLICY.applicant_fields),
    POLICY.line_manager.id,
    POLICY.line_manager_title.id,
]
QUESTIONS_1_TO_6 = [q.id for q in POLICY.questions[:6]]
QUESTIONS_7_TO_12 = [q.id for q in POLICY.questions[6:]]
BOARD_CHANNEL = "19:digital-delivery-board@thread.tacv2"
COMMS_CHANNEL = "19:corporate-communications@thread.tacv2"
LINE_MANAGER_CHAT = f"a:dm-{LINE_MANAGER.aad}"
SUPPORT = "I am aware of and support this application"
PURPOSE = "To reach trainees where they already are"
FIRST_RISKS = "Weekly moderation rota"
SECOND_RISKS = "Weekend cover by the web team"
CHANGES_ASKED = "Say who covers weekends"
SITE = "https://instagram.example/nes_trainees"
BOARD_BUTTONS = ["Approve", "Reject", "Request changes", "View full case"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def bot(
    sqlite_url: str, tmp_path: Path, fake_connector: FakeConnector
) -> AsyncIterator[BotClient]:
    """The served bot with a board, closed before the fake connector it delivers to."""
    board = Role(label="Digital Delivery Board", members=[BOARD_MEMBER.identity])
    async with served_bot(sqlite_url, tmp_path / "files", roles={"board_member": board}) as client:
        yield client


@pytest.fixture
async def wire(bot: BotClient, fake_connector: FakeConnector) -> AsyncIterator[TeamsWire]:
    teams = TeamsWire(bot, fake_connector)
    yield teams
    await teams.settled()
    for card in teams.sent_cards():  # every card the delivery loop sent or updated, too
        check_card(card)


# --- the applicant's side -----------------------------------------------------------------


async def first_six_questions(wire: TeamsWire) -> dict[str, Any]:
    """The checklist (one "no", one "not sure"), the applicant, questions 1 to 6."""
    card = await wire.say(APPLICANT, "social case")
    assert input_ids(card) == POINTS, "the checklist comes first, every point of Section E"
    assert POLICY.checklist_intro in shows(card)
    for point in POLICY.checklist:
        choices = inputs(card)[f"check_{point.id}"]["choices"]
        assert [c["value"] for c in choices] == ["yes", "no", "not_sure"]
    checklist = {POINTS[0]: "no", POINTS[1]: "not_sure"}
    card = await wire.submit_form(APPLICANT, card, **checklist)
    assert input_ids(card) == APPLICANT_IDS
    picker = inputs(card)[POLICY.line_manager.id]
    assert is_people_picker(picker)
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    card = await wire.submit_form(
        APPLICANT,
        card,
        name="Ann Applicant",
        directorate="Workforce",
        email="ann.applicant@example.org",
        line_manager=LINE_MANAGER.aad,  # what the people picker sends: the AAD object id
        line_manager_title="Director of Workforce",
    )
    assert input_ids(card) == QUESTIONS_1_TO_6
    for question in POLICY.questions[:6]:
        label = teams_shows(inputs(card)[question.id]["label"])
        assert label == f"{question.number}. {question.text}", "word for word from the template"
    card = await wire.submit_form(APPLICANT, card, social_media="Instagram", purpose=PURPOSE)
    assert input_ids(card) == QUESTIONS_7_TO_12
    return card


async def to_review_page(wire: TeamsWire) -> dict[str, Any]:
    """Questions 1 to 6, stop, ``social case`` again days later, questions 7 to 12."""
    await first_six_questions(wire)
    resumed = await wire.say(APPLICANT, "social case")
    assert "Welcome back" in shows(resumed)
    assert input_ids(resumed) == QUESTIONS_7_TO_12, "resumed where the applicant stopped"
    card = await wire.submit_form(APPLICANT, resumed, risk_management=FIRST_RISKS)
    assert input_ids(card) == ["declaration"]
    return card


async def submit_case(wire: TeamsWire) -> dict[str, Any]:
    """A whole case, stopped half way and resumed, declared and submitted: the receipt."""
    review = await to_review_page(wire)
    return await wire.submit_form(APPLICANT, review, declaration="yes")


async def the_case(bot: BotClient) -> Any:
    return await only_case(bot, "business_case")


async def timeline(bot: BotClient, case_id: str) -> list[str]:
    return await people_events(bot, case_id)


async def test_a_whole_case_stopped_and_resumed_is_reviewed_and_submitted(
    bot: BotClient, wire: TeamsWire
) -> None:
    review = await to_review_page(wire)
    shown = shows(review)
    assert POLICY.declaration in shown, "the template's declaration, word for word"
    assert "Your answers" in shown, "the review page summarises the answers"
    for words in (PURPOSE, FIRST_RISKS, "Instagram", "Ann Applicant", "Not sure", "No"):
        assert words in shown, f"{words!r} is on the review page"
    summary = facts(review)
    assert summary[NO_POINT.text] == "No" and summary[NOT_SURE_POINT.text] == "Not sure"

    receipt = await wire.submit_form(APPLICANT, review, declaration="yes")
    case = await the_case(bot)
    assert re.fullmatch(r"SC-\d{4}-\d{4}", case.reference)
    assert case.reference in shows(receipt) and facts(receipt)["Reference"] == case.reference
    assert "line manager" in shows(receipt), "the receipt says where the case went"
    assert case.state == "awaiting_support"
    assert case.reporter_key == APPLICANT.identity
    assert case.data[POLICY.line_manager.id] == [LINE_MANAGER.aad]
    assert case.data[POINTS[0]] == "no" and case.data[POINTS[1]] == "not_sure"
    assert all(case.data[p] == "yes" for p in POINTS[2:])
    assert case.data["purpose"] == PURPOSE and case.data["risk_management"] == FIRST_RISKS
    assert await timeline(bot, case.id) == ["submitted"]
    again = await wire.say(APPLICANT, "social case")
    assert input_ids(again) == POINTS and "Welcome back" not in shows(again), "a fresh draft"


# --- the line manager's support --------------------------------------------------------------


async def bind_channels(wire: TeamsWire) -> None:
    for purpose, channel in (("board", BOARD_CHANNEL), ("corporate-communications", COMMS_CHANNEL)):
        bound = await wire.say(ADMIN, f"<at>Staff Safety</at> bind {purpose}", conversation=channel)
        assert "Done" in shows(bound), shows(bound)


async def support_request(wire: TeamsWire) -> dict[str, Any]:
    """The card in the line manager's direct message, in a one-to-one chat the bot created."""
    [card, *_] = await eventually(lambda: wire.sends_to(LINE_MANAGER_CHAT))
    created = [s.conversation_id for s in wire.connector.sent if s.operation == "create"]
    assert LINE_MANAGER_CHAT in created, "a one-to-one chat with the AAD id the picker gave"
    return card


async def supported(bot: BotClient, wire: TeamsWire) -> tuple[dict[str, Any], str]:
    """Bind the channels, submit, the line manager supports: the board's card and its id."""
    await bind_channels(wire)
    await submit_case(wire)
    request = await support_request(wire)
    card = await wire.press(LINE_MANAGER, button(request, SUPPORT))
    assert "With the board" in shows(card)
    [posted] = await eventually(
        lambda: [
            s
            for s in wire.connector.to_conversation(BOARD_CHANNEL)
            if s.operation == "send" and s.card is not None
        ]
    )
    assert posted.card is not None
    return posted.card, posted.activity_id


async def test_the_line_manager_supports_it_and_the_board_gets_the_case(
    bot: BotClient, wire: TeamsWire
) -> None:
    moved = await wire.say(STRANGER, "bind board", conversation="19:elsewhere@thread.tacv2")
    assert "Only an administrator" in shows(moved), "only an admin binds the board channel"
    await bind_channels(wire)
    await submit_case(wire)
    case = await the_case(bot)
    request = await support_request(wire)
    assert case.reference in shows(request) and PURPOSE in shows(request)
    assert button_titles(request) == [SUPPORT, "I do not support it", "View full case"]
    await wire.settled()
    assert wire.sends_to(BOARD_CHANNEL) == [], "the case waits for the line manager's support"

    for someone in (STRANGER, APPLICANT):
        refused = await wire.press(someone, button(request, SUPPORT))
        assert "not able to do that" in shows(refused)
    assert (await the_case(bot)).state == "awaiting_support"
    assert await timeline(bot, case.id) == ["submitted"]

    card = await wire.press(LINE_MANAGER, button(request, SUPPORT))
    assert "With the board" in shows(card), "the line manager's press returns the refreshed card"
    assert button_titles(card) == ["View full case"], "nothing left to press but the case"
    case = await the_case(bot)
    assert case.state == "under_review"
    assert await timeline(bot, case.id) == ["submitted", "support"]
    async with bot.core.db() as s:
        rows = await events.timeline(session=s, case_id=case.id)
    support = next(row for row in rows if row.event == "support")
    assert support.actor_key == LINE_MANAGER.identity
    assert support.detail["statement"] == POLICY.support_statement

    [board] = await eventually(lambda: wire.sends_to(BOARD_CHANNEL))
    shown = facts(board)
    assert case.reference in shows(board)
    assert shown["Status"] == "With the board"
    assert shown["Applicant"] == "Ann Applicant" and shown["Directorate"] == "Workforce"
    assert shown["Platform"] == "Instagram"
    assert shown["Line manager's support"] == f"Supported by {LINE_MANAGER.name}"
    assert PURPOSE in shows(board)
    assert alerts(board) == [f"No: {NO_POINT.text}", f"Not sure: {NOT_SURE_POINT.text}"], (
        "the no and not sure answers, highlighted, and only they"
    )
    assert button_titles(board) == BOARD_BUTTONS
    [copy] = await eventually(lambda: wire.sends_to(COMMS_CHANNEL))
    assert case.reference in shows(copy) and alerts(copy) == alerts(board)
    assert button_titles(copy) == ["View full case"], "the copy is for comment, not decision"


# --- the board's side ---------------------------------------------------------------------


async def press_on_board(
    wire: TeamsWire, user: TeamsUser, card: dict[str, Any], title: str
) -> dict[str, Any]:
    return await wire.press(user, button(card, title), conversation=BOARD_CHANNEL)


async def decide(
    wire: TeamsWire, card: dict[str, Any], title: str, **values: str
) -> dict[str, Any]:
    """A board member presses ``title``, gets its form, and submits it with ``values``."""
    form = await press_on_board(wire, BOARD_MEMBER, card, title)
    assert "comments" in input_ids(form), f"{title} asks for comments"
    return await wire.submit_form(BOARD_MEMBER, form, conversation=BOARD_CHANNEL, **values)


def press_activity(wire: TeamsWire, user: TeamsUser, data: dict[str, Any]) -> dict[str, Any]:
    """A press as the Bot Framework delivers it; delivered again, it is the same activity."""
    return wire._activity(user, card_action_activity(data, service_url=wire.connector.service_url))


async def deliver(wire: TeamsWire, activity: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = await (await wire.bot.teams(activity)).json()
    return answer


async def test_a_decision_that_failed_is_made_when_delivered_again_and_only_once(
    bot: BotClient, wire: TeamsWire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A business-case press records its delivery in the transaction that makes its change:
    a press that failed left no record, so the redelivery makes it, and a repeat of one that
    worked is answered "Already received." and changes nothing."""
    await bind_channels(wire)
    await submit_case(wire)
    request = await support_request(wire)
    real_append = events.append
    failures: list[str] = []

    async def append_failing_once(**kwargs: Any) -> Any:
        if kwargs.get("event") == "support" and not failures:
            failures.append(kwargs["event"])
            raise RuntimeError("the database went away mid-press")
        return await real_append(**kwargs)

    monkeypatch.setattr(events, "append", append_failing_once)
    press = press_activity(wire, LINE_MANAGER, button(request, SUPPORT))
    failed = await deliver(wire, press)
    assert failures and "nothing was changed" in shows(failed["value"])
    assert (await the_case(bot)).state == "awaiting_support"
    done = await deliver(wire, press)
    assert "With the board" in shows(done["value"])
    repeat = await deliver(wire, press)
    assert repeat["value"] == "Already received."
    case = await the_case(bot)
    assert case.state == "under_review"
    assert await timeline(bot, case.id) == ["submitted", "support"]


async def test_edit_and_resubmit_delivered_twice_opens_one_draft(
    bot: BotClient, wire: TeamsWire
) -> None:
    """ "Edit and resubmit" changes nothing on the case: its change is the new draft, whose
    transaction records the press's delivery."""
    _, _, notice = await changes_requested(bot, wire)
    press = press_activity(wire, APPLICANT, button(notice, "Edit and resubmit"))
    first = await deliver(wire, press)
    assert input_ids(first["value"]) == POINTS, "the prefilled first page"
    again = await deliver(wire, press)
    assert again["value"] == "Already received."


async def test_a_press_by_someone_not_on_the_board_is_refused_politely(
    bot: BotClient, wire: TeamsWire
) -> None:
    board, _ = await supported(bot, wire)
    for someone in (STRANGER, LINE_MANAGER, APPLICANT, ADMIN):
        for title in ("Approve", "Reject", "Request changes"):
            refused = await press_on_board(wire, someone, board, title)
            assert "Sorry, you are not able to do that" in shows(refused), (someone, title)
            assert input_ids(refused) == [], "no form to fill in"
    case = await the_case(bot)
    assert case.state == "under_review"
    assert await timeline(bot, case.id) == ["submitted", "support"]


async def changes_requested(
    bot: BotClient, wire: TeamsWire
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Supported, then the board asks for changes: the board's card, its id, the notice."""
    board, posted_id = await supported(bot, wire)
    card = await decide(wire, board, "Request changes", comments=CHANGES_ASKED)
    assert facts(card)["Status"] == "Changes requested"
    assert button_titles(card) == ["View full case"], "the board waits for the applicant"
    notices = await eventually(
        lambda: [c for c in wire.sends_to(APPLICANT.personal_chat) if CHANGES_ASKED in shows(c)]
    )
    return board, posted_id, notices[-1]


async def edit_question_7(wire: TeamsWire, first: dict[str, Any]) -> dict[str, Any]:
    """From the prefilled first page, every page as it is but question 7: the receipt."""
    card = first
    for ids in (POINTS, APPLICANT_IDS, QUESTIONS_1_TO_6):
        assert input_ids(card) == ids
        if ids == APPLICANT_IDS:
            assert inputs(card)[POLICY.line_manager.id]["value"] == LINE_MANAGER.aad
            assert inputs(card)["name"]["value"] == "Ann Applicant"
        card = await wire.submit_form(APPLICANT, card)  # what the card shows, unchanged
    assert input_ids(card) == QUESTIONS_7_TO_12
    assert inputs(card)["risk_management"]["value"] == FIRST_RISKS, "prefilled"
    card = await wire.submit_form(APPLICANT, card, risk_management=SECOND_RISKS)
    assert input_ids(card) == ["declaration"]
    assert SECOND_RISKS in shows(card), "the review shows the new answer"
    return await wire.submit_form(APPLICANT, card)


async def resubmitted(bot: BotClient, wire: TeamsWire) -> str:
    """Changes requested, question 7 edited and resubmitted: the board card's activity id."""
    _, posted_id, notice = await changes_requested(bot, wire)
    await edit_question_7(wire, await wire.press(APPLICANT, button(notice, "Edit and resubmit")))
    return posted_id


def comms_id(wire: TeamsWire) -> str:
    """The activity id of the copy first posted in the Corporate Communications channel."""
    [posted] = [s for s in wire.connector.to_conversation(COMMS_CHANNEL) if s.operation == "send"]
    return posted.activity_id


async def latest_board_card(wire: TeamsWire, posted_id: str, showing: str) -> dict[str, Any]:
    """The board's card as last updated in place, once an update shows ``showing``."""
    updated = await eventually(
        lambda: [c for c in wire.updates_to(BOARD_CHANNEL, posted_id) if showing in shows(c)]
    )
    return updated[-1]


async def test_request_changes_the_applicant_edits_and_the_board_sees_what_changed(
    bot: BotClient, wire: TeamsWire
) -> None:
    _, posted_id, notice = await changes_requested(bot, wire)
    case = await the_case(bot)
    assert case.state == "changes_requested"
    assert "asked for changes" in shows(notice)
    assert facts(notice)[POLICY.comments_label] == CHANGES_ASKED
    assert button_titles(notice) == ["Edit and resubmit"]

    first = await wire.press(APPLICANT, button(notice, "Edit and resubmit"))
    assert input_ids(first) == POINTS, "the submitted case, from its first page"
    shown = {key: item.get("value") for key, item in inputs(first).items()}
    assert shown[POINTS[0]] == "no" and shown[POINTS[1]] == "not_sure", "prefilled"
    assert all(shown[p] == "yes" for p in POINTS[2:])

    receipt = await edit_question_7(wire, first)
    assert "sent to the board with what changed" in shows(receipt)
    assert facts(receipt)["Reference"] == case.reference
    case = await the_case(bot)
    assert case.state == "under_review" and case.data["risk_management"] == SECOND_RISKS
    assert await timeline(bot, case.id) == ["submitted", "support", "request_changes", "resubmit"]

    card = await latest_board_card(wire, posted_id, "What changed")
    assert facts(card)["Status"] == "With the board" and facts(card)["Version"] == "2"
    question = POLICY.questions[6]
    shown_text = shows(card)
    assert f"{question.number}. {question.text}" in shown_text
    assert f"Was: {FIRST_RISKS}" in shown_text and f"Now: {SECOND_RISKS}" in shown_text
    assert "Was: About" not in shown_text, "only the changed answer is listed"
    assert button_titles(card) == BOARD_BUTTONS
    for channel in (BOARD_CHANNEL, COMMS_CHANNEL):
        sends = [s for s in wire.connector.to_conversation(channel) if s.operation == "send"]
        assert len(sends) == 1, f"one card in {channel}, updated in place"
    copies = await eventually(
        lambda: [
            c for c in wire.updates_to(COMMS_CHANNEL, comms_id(wire)) if "What changed" in shows(c)
        ]
    )
    assert button_titles(copies[-1]) == ["View full case"]


async def test_approval_registers_the_presence_for_two_years_and_keeps_both_versions(
    bot: BotClient, wire: TeamsWire
) -> None:
    posted_id = await resubmitted(bot, wire)
    board = await latest_board_card(wire, posted_id, "What changed")
    form = await press_on_board(wire, BOARD_MEMBER, board, "Approve")
    assert input_ids(form) == ["comments", "name_or_url"]
    refused = await wire.submit_form(
        BOARD_MEMBER, form, conversation=BOARD_CHANNEL, comments="Fine", name_or_url=""
    )
    assert "name or web address" in shows(refused), "the register needs the site's name"
    assert (await the_case(bot)).state == "under_review"

    form = await press_on_board(wire, BOARD_MEMBER, board, "Approve")
    answers = filled(form, comments="Approved for two years", name_or_url=SITE)
    forged = {"junk": "x" * 100_000, "statement": "forged"}  # not on the form: not recorded
    card = await wire.press(
        BOARD_MEMBER, {**submit_data(form), **answers, **forged}, conversation=BOARD_CHANNEL
    )
    assert facts(card)["Status"] == "Approved"
    assert f"approve by {BOARD_MEMBER.name}" in shows(card)
    assert button_titles(card) == ["View full case"]
    case = await the_case(bot)
    assert case.state == "approved"
    async with bot.core.db() as s:
        versions = await cases.list_versions(session=s, case_id=case.id)
        rows = await events.timeline(session=s, case_id=case.id)
        entry = await presences.for_case(session=s, case_id=case.id)
    assert [v.data["risk_management"] for v in versions] == [FIRST_RISKS, SECOND_RISKS]
    approval = next(row for row in rows if row.event == "approve")
    assert approval.actor_key == BOARD_MEMBER.identity and approval.at is not None
    assert approval.detail == {"comments": "Approved for two years", "name_or_url": SITE}
    assert entry is not None
    assert entry.name_or_url == SITE and entry.platform == "Instagram"
    assert entry.owner_key == APPLICANT.identity and entry.approved_by == BOARD_MEMBER.identity
    assert entry.review_at == entry.approved_at.replace(year=entry.approved_at.year + 2)
    notices = await eventually(
        lambda: [c for c in wire.sends_to(APPLICANT.personal_chat) if "approved" in shows(c)]
    )
    assert "Approved for two years" in shows(notices[-1]) and case.reference in shows(notices[-1])
    assert button_titles(notices[-1]) == [], "nothing to edit once approved"
    await eventually(
        lambda: [
            c for c in wire.updates_to(BOARD_CHANNEL, posted_id) if facts(c)["Status"] == "Approved"
        ]
    )


async def export_case(reference: str, database_url: str, cwd: Path) -> dict[str, Any]:
    """``python -m bot export case REF --format json``, as an operator runs it.

    Run without blocking the event loop, so the served bot never holds the database while
    the export waits for it.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_"))}
    environment["DATABASE_URL"] = database_url
    environment["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "export",
        "case",
        reference,
        "--format",
        "json",
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()
    document: dict[str, Any] = json.loads(out)
    return document


async def test_the_export_has_both_versions_the_support_and_the_decision(
    bot: BotClient, wire: TeamsWire, sqlite_url: str, tmp_path: Path
) -> None:
    posted_id = await resubmitted(bot, wire)
    board = await latest_board_card(wire, posted_id, "What changed")
    await decide(wire, board, "Approve", comments="Approved for two years", name_or_url=SITE)
    await wire.settled()
    case = await the_case(bot)

    document = await export_case(case.reference, sqlite_url, tmp_path)
    assert document["case"]["reference"] == case.reference
    assert document["case"]["state"] == "approved"
    versions = document["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["created_by"]["id"] == APPLICANT.identity
    assert FIRST_RISKS in json.dumps(versions[0]["answers"])
    assert SECOND_RISKS in json.dumps(versions[1]["answers"])
    assert versions[0]["changes"] == []
    changed = json.dumps(versions[1]["changes"])
    assert FIRST_RISKS in changed and SECOND_RISKS in changed
    assert document["support"]["by"] == {"name": LINE_MANAGER.name, "id": LINE_MANAGER.identity}
    assert document["support"]["statement"] == POLICY.support_statement
    decision = document["decision"]
    assert decision["decision"] == "approve" and decision["comments"] == "Approved for two years"
    assert decision["signed"] == {"name": BOARD_MEMBER.name, "id": BOARD_MEMBER.identity}
    assert decision["date"]
    assert [d["decision"] for d in document["decisions"]] == ["request_changes", "approve"]
    assert document["decisions"][0]["comments"] == CHANGES_ASKED
    assert document["register"]["name_or_url"] == SITE
    events_in_order = [e["event"] for e in document["timeline"] if e["by"]["id"] != "bot"]
    assert events_in_order == ["submitted", "support", "request_changes", "resubmit", "approve"]
    assert document["timeline_intact"] is True


async def test_a_reject_needs_comments_and_tells_the_applicant_why(
    bot: BotClient, wire: TeamsWire
) -> None:
    board, posted_id = await supported(bot, wire)
    form = await press_on_board(wire, BOARD_MEMBER, board, "Reject")
    assert input_ids(form) == ["comments"] and inputs(form)["comments"]["isRequired"] is True
    for empty in ("", "   "):
        refused = await wire.submit_form(
            BOARD_MEMBER, form, conversation=BOARD_CHANNEL, comments=empty
        )
        assert input_ids(refused) == ["comments"], "the form again"
        assert "Please give your reasons" in shows(refused)
    case = await the_case(bot)
    assert case.state == "under_review"
    assert await timeline(bot, case.id) == ["submitted", "support"]

    reason = "Use the Knowledge Network instead"
    card = await wire.submit_form(BOARD_MEMBER, form, conversation=BOARD_CHANNEL, comments=reason)
    assert facts(card)["Status"] == "Rejected" and reason in shows(card)
    assert button_titles(card) == ["View full case"]
    case = await the_case(bot)
    assert case.state == "rejected"
    assert await timeline(bot, case.id) == ["submitted", "support", "reject"]
    notices = await eventually(
        lambda: [c for c in wire.sends_to(APPLICANT.personal_chat) if reason in shows(c)]
    )
    assert "not approved" in shows(notices[-1])
    assert button_titles(notices[-1]) == [], "a rejected case is not edited"
    await eventually(
        lambda: [
            c for c in wire.updates_to(BOARD_CHANNEL, posted_id) if facts(c)["Status"] == "Rejected"
        ]
    )
    async with bot.core.db() as s:
        assert await presences.for_case(session=s, case_id=case.id) is None


async def test_view_full_case_opens_the_whole_case_for_the_people_it_is_shown_to(
    bot: BotClient, wire: TeamsWire
) -> None:
    board, _ = await supported(bot, wire)
    request = (await eventually(lambda: wire.sends_to(LINE_MANAGER_CHAT)))[0]
    [copy] = await eventually(lambda: wire.sends_to(COMMS_CHANNEL))
    case = await the_case(bot)
    presses = [
        (LINE_MANAGER, request, ""),
        (BOARD_MEMBER, board, BOARD_CHANNEL),
        (BOARD_MEMBER, copy, COMMS_CHANNEL),
    ]
    refused = []
    for who, card, channel in presses:
        whole = await wire.press(who, button(card, "View full case"), conversation=channel)
        shown = shows(whole)
        if not (f"Full case {case.reference}" in shown and PURPOSE in shown):
            refused.append((who.name, channel or "direct message", shown))
    assert refused == [], "View full case refused the people it is shown to"
