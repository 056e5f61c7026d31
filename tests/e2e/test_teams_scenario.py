"""The /report-abuse scenario on Teams, through the wire (DOMAIN.md section 1, issue 3).

Bot Framework activities are POSTed to the served bot; replies, proactive messages and card
updates are read back from the fake connector, delivered by the app's own delivery loop.
Every card the bot returns or sends is checked against the Adaptive Card 1.5 schema and for
person-typed markup that could still act (``teams_support.check_card``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.actions import ActionName, ActionRef
from bot.evidence import FileTooLarge
from bot.handlers.teams.files import TeamsFileFetcher, chat_files
from bot.model import FileUpload
from bot.policy import load_default_pack
from bot.storage.repos import events, sessions
from bot.storage.repos import files as stored_files
from tests.e2e.teams_support import (
    ADMIN,
    CARD_TYPE,
    HOSTILE,
    LINE_MANAGER,
    MANAGER,
    OTHER_MANAGER,
    REPORTER,
    STRANGER,
    TRIAGE_CHANNEL,
    TeamsUser,
    TeamsWire,
    button,
    button_titles,
    check_card,
    download_info,
    eventually,
    facts,
    input_ids,
    message_html,
    only_case,
    people_events,
    served_bot,
    shows,
)
from tests.support.bot_fixtures import BotClient
from tests.support.fake_connector import FakeConnector, card_action_activity

PACK = load_default_pack()
DESCRIPTION = f"{HOSTILE} They wrote to me at home, again."
SENDERS = "<@U123>\n@here\n[x](http://evil.example)\n<b>html</b>\nangry@example.com"
TWENTY_MB = 20 * 1024 * 1024


@pytest.fixture
async def bot(
    sqlite_url: str, tmp_path: Path, fake_connector: FakeConnector
) -> AsyncIterator[BotClient]:
    """The served bot, closed before the fake connector it delivers to."""
    async with served_bot(sqlite_url, tmp_path / "files") as client:
        yield client


@pytest.fixture
async def wire(bot: BotClient, fake_connector: FakeConnector) -> AsyncIterator[TeamsWire]:
    teams = TeamsWire(bot, fake_connector)
    yield teams
    await teams.settled()
    for card in teams.sent_cards():  # every card the delivery loop sent or updated, too
        check_card(card)


# --- walking the report -----------------------------------------------------------------------


async def to_evidence_page(wire: TeamsWire, *, urgent: bool = True) -> dict[str, Any]:
    """Every branch up to the evidence page: urgent, staff, organisational, social media."""
    card = await wire.say(REPORTER, "report abuse")
    assert input_ids(card) == ["safety"], "safety comes before anything else"
    card = await wire.next_page(REPORTER, card, safety="yes" if urgent else "no")
    if urgent:
        assert input_ids(card) == [], "the police advice is a page of its own, shown at once"
        assert "999" in shows(card) and "101" in shows(card)
        card = await wire.next_page(REPORTER, card)
    assert input_ids(card) == ["reporter_role", "directorate"]
    card = await wire.next_page(
        REPORTER, card, reporter_role="staff", directorate="Evidence <b>team</b>"
    )
    assert input_ids(card) == ["line_manager"], "staff report to their line manager"
    [picker] = [item for item in card["body"] if item.get("id") == "line_manager"]
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    card = await wire.next_page(REPORTER, card, line_manager=LINE_MANAGER.aad)
    assert input_ids(card) == ["account_kind", "channel"]
    card = await wire.next_page(
        REPORTER, card, account_kind="organisational", channel="social_media"
    )
    assert input_ids(card)[0] == "platform", "social media asks which platform"
    for step in PACK.abuse_report.organisational_account_steps:
        assert step.text in shows(card), "Annex A's steps show on the organisational branch"
    card = await wire.next_page(
        REPORTER,
        card,
        platform="twitter_x",
        kind="threat",
        started_on="2026-11-01",
        ongoing="yes",
        senders=SENDERS,
        links="https://x.example/someone/status/1",
        description=DESCRIPTION,
        work_item="Guidance 42 [x](http://evil.example)",
        contentious="yes",
    )
    assert input_ids(card) == [] and "attach the files" in shows(card), "the evidence page"
    return card


async def attach(wire: TeamsWire, *attachments: dict[str, Any]) -> dict[str, Any]:
    """Attachments sent in the personal chat; Teams adds the message's HTML copy to each."""
    return await wire.say(REPORTER, "", attachments=[*attachments, message_html()])


async def to_review_page(wire: TeamsWire) -> dict[str, Any]:
    """Every branch, three files attached as chat messages, a protected characteristic."""
    card = await to_evidence_page(wire)
    connector = wire.connector
    card = await attach(wire, download_info(connector, "shot1.png", b"png-1", "image/png"))
    assert "1 file attached so far" in shows(card)
    card = await attach(wire, download_info(connector, "letter.pdf", b"%PDF-2", "application/pdf"))
    pasted = {
        "contentType": "image/*",
        "contentUrl": connector.add_file("paste", b"png-3", "image/png"),
    }
    card = await attach(wire, pasted)
    assert "3 files attached so far" in shows(card)
    card = await wire.next_page(REPORTER, card)
    assert input_ids(card) == ["protected_characteristics", "details_exposed", "replied"]
    card = await wire.next_page(
        REPORTER,
        card,
        protected_characteristics="race_or_nationality,religion_or_belief",
        details_exposed="yes",
        replied="no",
    )
    assert input_ids(card) == ["review"]
    return card


async def submitted_report(wire: TeamsWire) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bind the triage channel and send a full report: the receipt, and the channel's card."""
    bound = await wire.say(
        ADMIN, "<at>Staff Safety</at> bind abuse-triage", conversation=TRIAGE_CHANNEL
    )
    assert "Done" in shows(bound)
    card = await to_review_page(wire)
    receipt = await wire.next_page(REPORTER, card, review="yes")
    posted = await eventually(lambda: wire.sends_to(TRIAGE_CHANNEL))
    return receipt, posted[0]


async def the_report(bot: BotClient) -> Any:
    return await only_case(bot, "abuse_report")


async def timeline(bot: BotClient, case_id: str) -> list[str]:
    return await people_events(bot, case_id)


# --- the reporter's side ----------------------------------------------------------------------


async def test_a_report_with_every_branch_is_stored_urgent_with_three_files(
    bot: BotClient, wire: TeamsWire
) -> None:
    receipt, triage = await submitted_report(wire)
    report = await the_report(bot)
    assert re.fullmatch(r"AB-\d{4}-\d{4}", report.reference)
    assert report.reference in shows(receipt), "the receipt names the reference"
    assert "999" in shows(receipt), "an urgent report repeats the police advice"
    assert report.urgent and report.state == "new"
    assert report.data["line_manager"] == [LINE_MANAGER.aad]
    assert report.data["account_kind"] == "organisational"
    assert report.data["platform"] == "twitter_x"
    assert report.data["protected_characteristics"] == ["race_or_nationality", "religion_or_belief"]
    assert report.data["description"] == DESCRIPTION, "kept exactly as typed"
    async with bot.core.db() as s:
        files = await stored_files.list_for_case(session=s, case_id=report.id)
    assert sorted(f.name for f in files) == ["image-1.png", "letter.pdf", "shot1.png"]
    for row, content in zip(
        sorted(files, key=lambda f: f.name), (b"png-3", b"%PDF-2", b"png-1"), strict=True
    ):
        assert row.sha256 == hashlib.sha256(content).hexdigest() and row.size == len(content)
        assert bot.core.files.resolve(row.path).read_bytes() == content
    shown = facts(triage)
    assert report.reference in shows(triage) and shown["Urgency"] == "Urgent"
    assert shown["Status"] == "New" and shown["Evidence files"] == "3"
    assert shown["Protected characteristic"] == "Yes"
    assert shown["How it arrived"] == "Social media (X (Twitter))"
    assert button_titles(triage) == ["Acknowledge", "View details"]
    assert "They wrote to me" not in shows(triage), "the description stays behind View details"


async def test_the_line_manager_chosen_with_the_picker_gets_a_direct_message(
    bot: BotClient, wire: TeamsWire
) -> None:
    await submitted_report(wire)
    report = await the_report(bot)
    direct = f"a:dm-{LINE_MANAGER.aad}"
    [card, *_] = await eventually(lambda: wire.sends_to(direct))
    assert report.reference in shows(card)
    created = [s for s in wire.connector.sent if s.operation == "create"]
    assert direct in [s.conversation_id for s in created], "a one-to-one chat by AAD id"


async def test_hostile_text_reaches_the_details_card_inert(bot: BotClient, wire: TeamsWire) -> None:
    _, triage = await submitted_report(wire)
    details = await press_in_channel(wire, MANAGER, triage, "View details")
    shown = shows(details)
    assert HOSTILE in shown, "the reporter's words are shown, literally"
    for line in SENDERS.splitlines():
        assert line in shown


async def test_the_review_page_summarises_the_answers_before_sending(wire: TeamsWire) -> None:
    shown = shows(await to_review_page(wire))
    assert DESCRIPTION in shown, "the reporter's words, shown literally (and inert)"
    assert "Threats" in shown and "X (Twitter)" in shown and "Race or nationality" in shown


async def test_a_resumed_draft_says_welcome_back_on_the_right_page(wire: TeamsWire) -> None:
    # Teams puts an HTML copy of the message on it: a command with it is still a command.
    card = await wire.say(REPORTER, "report abuse", attachments=[message_html()])
    card = await wire.next_page(REPORTER, card, safety="no")
    card = await wire.next_page(REPORTER, card, reporter_role="committee_member")
    assert input_ids(card) == ["project_contact"], "committee members choose a project contact"
    resumed = await wire.say(REPORTER, "report abuse")
    assert "Welcome back" in shows(resumed)
    assert input_ids(resumed) == ["project_contact"]


async def test_a_file_too_large_is_named_and_the_rest_is_kept(
    bot: BotClient, wire: TeamsWire
) -> None:
    await to_evidence_page(wire, urgent=False)
    connector = wire.connector
    card = await attach(
        wire,
        download_info(connector, "first.png", b"png-ok", "image/png"),
        download_info(connector, "huge.png", b"x" * (TWENTY_MB + 1), "image/png"),
    )
    shown = shows(card)
    assert "huge.png" in shown and "20 MB" in shown, "the refused file is named with the limit"
    assert "1 file attached so far" in shown, "the file before it is kept"
    assert "attach the files" in shown, "still on the evidence page"
    card = await attach(wire, download_info(connector, "second.png", b"png-2", "image/png"))
    assert "2 files attached so far" in shows(card) and "huge.png" not in shows(card)
    async with bot.core.db() as s:
        draft = await sessions.get_open(
            session=s, platform="teams", user_id=REPORTER.aad, flow="abuse_report"
        )
    assert draft is not None and len(draft.answers["evidence"]) == 2
    assert draft.answers["description"] == DESCRIPTION, "nothing else was lost"


async def test_files_without_an_open_evidence_page_are_refused_calmly(wire: TeamsWire) -> None:
    card = await attach(wire, download_info(wire.connector, "early.png", b"png", "image/png"))
    shown = shows(card)
    assert "evidence page is open" in shown and "nothing was saved" in shown
    assert "Report abusive contact" in button_titles(card), "with the home card's buttons"


# --- the managers' side -----------------------------------------------------------------------


async def press_in_channel(
    wire: TeamsWire, user: TeamsUser, card: dict[str, Any], title: str
) -> dict[str, Any]:
    """Press a button on the triage channel's card; the answer is the invoke response's card."""
    return await wire.press(user, button(card, title), conversation=TRIAGE_CHANNEL)


async def updated_in_place(wire: TeamsWire, posted_id: str, refreshed: dict[str, Any]) -> None:
    """The channel's card (the activity first posted) now shows what the presser saw."""
    await eventually(
        lambda: [
            s
            for s in wire.connector.to_conversation(TRIAGE_CHANNEL)
            if s.operation == "update" and s.activity_id == posted_id and s.card == refreshed
        ]
    )


POLICE = {
    "target": "police",
    "police.number": "non_emergency_101",
    "police.police_reference": "CAD-1234",
}
LEGAL_ORDER: list[tuple[str, str, str, dict[str, str]]] = [
    # (button, timeline event, status after, form inputs)
    ("Acknowledge", "acknowledge", "Acknowledged", {}),
    ("Escalate", "escalate", "Escalated", POLICE),
    (
        "Record action",
        "record_action",
        "In progress",
        {"actions": "screenshot_filed,sender_blocked", "note": "INTERNAL NOTE for managers"},
    ),
    ("Assign", "assign", "In progress", {"assignee": OTHER_MANAGER.aad}),
    ("Log check-in", "check_in", "In progress", {}),
    ("Close", "close", "Closed", {"outcome": "Account blocked.", "lessons_learned": "INTERNAL"}),
    ("Reopen", "reopen", "In progress", {}),
]


async def test_every_button_in_a_legal_order_updates_the_card_and_tells_the_reporter(
    bot: BotClient, wire: TeamsWire
) -> None:
    _, card = await submitted_report(wire)
    report = await the_report(bot)
    [posted] = [s for s in wire.connector.to_conversation(TRIAGE_CHANNEL) if s.operation == "send"]
    expected, pressed = ["submitted"], {}
    for title, event, status, inputs in LEGAL_ORDER:
        pressed[title] = card
        if inputs:
            form = await press_in_channel(wire, MANAGER, card, title)
            assert set(inputs) <= set(input_ids(form)), f"{title} asks for what it needs"
            submit = next(a for a in form["actions"] if a["type"] == "Action.Execute")
            if title == "Escalate":  # no police reference: refused on the field, nothing kept
                refused = await wire.press(
                    MANAGER, {**submit["data"], "target": "police"}, conversation=TRIAGE_CHANNEL
                )
                assert "Please answer this question." in shows(refused)
                assert await timeline(bot, report.id) == expected
            data = {**submit["data"], **inputs}
        else:
            data = button(card, title)
        card = await wire.press(MANAGER, data, conversation=TRIAGE_CHANNEL)
        expected.append(event)
        assert facts(card)["Status"] == status, f"{title} answers with the refreshed card"
        assert MANAGER.name in facts(card)["Last action"]
        assert await timeline(bot, report.id) == expected, f"{title} adds a timeline line"
        await updated_in_place(wire, posted.activity_id, card)
    async with bot.core.db() as s:
        rows = await events.timeline(session=s, case_id=report.id)
    escalation = next(row for row in rows if row.event == "escalate")
    assert escalation.detail["police.police_reference"] == "CAD-1234"
    assert (await the_report(bot)).assignee_key == OTHER_MANAGER.identity
    # The Reopen button's payload again, now the report is open: refused, nothing changes.
    again = await wire.press(
        MANAGER, button(pressed["Reopen"], "Reopen"), conversation=TRIAGE_CHANNEL
    )
    assert "already did this first" in shows(again) and facts(again)["Status"] == "In progress"
    assert await timeline(bot, report.id) == expected
    sends = [s for s in wire.connector.to_conversation(TRIAGE_CHANNEL) if s.operation == "send"]
    assert len(sends) == 1, "one card in the channel, updated in place"
    await wire.settled()
    notices = [shows(card) for card in wire.sends_to(REPORTER.personal_chat)]
    assert len(notices) == 3, notices
    assert "picked up" in notices[0] and "police" in notices[1] and "now closed" in notices[2]
    chat = [s.card for s in wire.connector.to_conversation(REPORTER.personal_chat) if s.card]
    assert "INTERNAL" not in "\n".join(shows(c) for c in chat), "never internal notes"


async def test_an_illegal_or_stale_press_is_refused_and_changes_nothing(
    bot: BotClient, wire: TeamsWire
) -> None:
    _, triage = await submitted_report(wire)
    acknowledged = await press_in_channel(wire, MANAGER, triage, "Acknowledge")
    report = await the_report(bot)
    assert report.state == "acknowledged"
    forged = ActionRef(ActionName.CASE_REOPEN, report.id, report.version).encode()
    refused = await wire.press(MANAGER, {"action": forged}, conversation=TRIAGE_CHANNEL)
    assert "cannot be done to this report now" in shows(refused)
    stale = await press_in_channel(wire, MANAGER, triage, "Acknowledge")
    assert "already did this first" in shows(stale)
    assert button_titles(stale) == button_titles(acknowledged), "with the latest card"
    after = await the_report(bot)
    assert (after.state, after.version) == ("acknowledged", report.version)
    assert await timeline(bot, report.id) == ["submitted", "acknowledge"]


async def test_a_press_delivered_again_is_processed_once_unless_it_failed(
    bot: BotClient, wire: TeamsWire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card press records its delivery in the press's own transaction: a repeat of a press
    that worked is answered "Already received." and changes nothing, while a press whose
    transaction failed left no record, so the Bot Framework's redelivery of it is processed."""
    _, triage = await submitted_report(wire)
    real_append = events.append
    failures: list[str] = []

    async def append_failing_once(**kwargs: Any) -> Any:
        if kwargs.get("event") == "acknowledge" and not failures:
            failures.append(kwargs["event"])
            raise RuntimeError("the database went away mid-press")
        return await real_append(**kwargs)

    monkeypatch.setattr(events, "append", append_failing_once)
    activity = wire._activity(
        MANAGER,
        card_action_activity(button(triage, "Acknowledge"), service_url=wire.connector.service_url),
        conversation=TRIAGE_CHANNEL,
    )
    failed = await (await bot.teams(activity)).json()
    assert failures and "nothing was changed" in shows(failed["value"])
    assert (await the_report(bot)).state == "new"
    done = await (await bot.teams(activity)).json()
    assert done["type"] == CARD_TYPE and "Acknowledged" in shows(done["value"])
    repeat = await bot.teams(activity)
    assert repeat.status == 200
    assert (await repeat.json())["value"] == "Already received."
    report = await the_report(bot)
    assert report.state == "acknowledged"
    assert await timeline(bot, report.id) == ["submitted", "acknowledge"]


async def test_a_press_by_someone_not_allowed_is_refused_politely(
    bot: BotClient, wire: TeamsWire
) -> None:
    _, triage = await submitted_report(wire)
    for title in ("Acknowledge", "View details"):
        refused = await press_in_channel(wire, STRANGER, triage, title)
        assert "not able to do that" in shows(refused)
        assert "They wrote to me" not in shows(refused)
    report = await the_report(bot)
    assert report.state == "new"
    assert await timeline(bot, report.id) == ["submitted"]
    bind = await wire.say(STRANGER, "bind abuse-triage", conversation="19:elsewhere@thread.tacv2")
    assert "Only an administrator" in shows(bind), "nor may they move the triage channel"


async def test_two_managers_pressing_at_once_make_one_transition(
    bot: BotClient, wire: TeamsWire
) -> None:
    _, triage = await submitted_report(wire)
    data = button(triage, "Acknowledge")
    answers = await asyncio.gather(
        *(wire.press(user, data, conversation=TRIAGE_CHANNEL) for user in (MANAGER, OTHER_MANAGER))
    )
    losers = [card for card in answers if "already did this first" in shows(card)]
    winners = [card for card in answers if "already did this first" not in shows(card)]
    assert len(losers) == 1 and len(winners) == 1
    winner = MANAGER if f"by {MANAGER.name}" in shows(winners[0]) else OTHER_MANAGER
    assert f"{winner.name} already did this first" in shows(losers[0])
    assert "Acknowledged" in shows(losers[0]), "the loser sees the refreshed card"
    report = await the_report(bot)
    assert await timeline(bot, report.id) == ["submitted", "acknowledge"]


# --- the file fetcher -------------------------------------------------------------------------


@pytest.fixture
async def file_host() -> AsyncIterator[tuple[TestServer, list[dict[str, str]]]]:
    """A loopback file host that records the headers of every download."""
    seen: list[dict[str, str]] = []

    async def serve(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        name = request.match_info["name"]
        if name == "login":
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        if name == "stream":
            response = web.StreamResponse()
            response.content_type = "image/png"
            await response.prepare(request)
            for _ in range(4):
                await response.write(b"x" * 1024)
            await response.write_eof()
            return response  # type: ignore[return-value]
        return web.Response(body=b"png-bytes", content_type="image/png")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, seen
    await server.close()


async def test_the_fetcher_sends_the_token_only_for_inline_images(
    file_host: tuple[TestServer, list[dict[str, str]]],
) -> None:
    server, seen = file_host
    inline, shared = str(server.make_url("/inline")), str(server.make_url("/shared"))
    files = chat_files(
        [
            {"contentType": "text/html", "content": "<p>hi</p>"},
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": {}},
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "name": "report.docx",
                "content": {"downloadUrl": shared, "fileType": "docx"},
            },
            {"contentType": "image/*", "contentUrl": inline},
        ]
    )
    assert [(u.name, u.mime_type) for u in files.uploads] == [
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("image-2.png", "image/png"),
    ]

    async def token() -> str:
        return "bot-token"

    fetch = TeamsFileFetcher(
        max_bytes=1024,
        inline_urls=files.inline_urls,
        token=token,
        service_url=str(server.make_url("/")),
    )
    for upload in files.uploads:
        assert await fetch(upload) == b"png-bytes"
    assert "Authorization" not in seen[0], "a download link is pre-authenticated"
    assert seen[1]["Authorization"] == "Bearer bot-token"


async def test_the_fetcher_refuses_plain_http_html_pages_and_oversize_files(
    file_host: tuple[TestServer, list[dict[str, str]]],
) -> None:
    server, _ = file_host
    fetch = TeamsFileFetcher(max_bytes=2048)
    with pytest.raises(PermissionError):
        await fetch(FileUpload("a.png", "http://files.example/a.png", "image/png"))
    with pytest.raises(ConnectionError):
        await fetch(FileUpload("a.png", str(server.make_url("/login")), "image/png"))
    with pytest.raises(FileTooLarge):
        await fetch(FileUpload("big.png", str(server.make_url("/stream")), "image/png"))
    small = TeamsFileFetcher(max_bytes=4)
    with pytest.raises(FileTooLarge):
        await small(FileUpload("a.png", str(server.make_url("/a")), "image/png"))
