"""A burst of commands: past the modals that can still open in time, people are told at
once to try again, instead of a modal that silently never opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.handlers.slack import backlog, listeners
from bot.storage.repos import cases
from bot.storage.tables import FlowSession
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import slash_command_body


async def drafts_of(bot: BotClient) -> set[str]:
    async with bot.core.db() as s:
        return set(await s.scalars(select(FlowSession.user_id)))


async def test_past_the_opening_limit_a_command_is_answered_busy_and_starts_nothing(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backlog, "ROOM_WAIT_SECONDS", 0.2)
    monkeypatch.setattr(listeners, "OPENING_LIMIT", 0)  # every modal "could not open in time"
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack_with_roles()) as bot:
        busy = await bot.slack(slash_command_body("/report-abuse", user_id="U0SECOND"))
        assert busy.status == 200
        assert "please try again in a minute" in await busy.text()
        assert await drafts_of(bot) == set(), "nothing was started for the person told to retry"
        assert not fake_slack.called("views.open")


async def test_under_the_limit_each_opening_makes_room_for_the_next(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listeners, "OPENING_LIMIT", 1)
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    async with serve_bot(settings, pack_with_roles()) as bot:
        for number, user in enumerate(("U0FIRST", "U0SECOND", "U0THIRD"), start=1):
            response = await bot.slack(slash_command_body("/report-abuse", user_id=user))
            assert response.status == 200 and not await response.text()
            await fake_slack.wait_for("views.open", number)
        assert await drafts_of(bot) == {"U0FIRST", "U0SECOND", "U0THIRD"}


async def test_past_the_pressing_limit_a_press_is_turned_away_and_the_person_told(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.test_slack_triage import submitted_report
    from tests.support.slack_signing import press_body

    monkeypatch.setattr(backlog, "ROOM_WAIT_SECONDS", 0.2)
    monkeypatch.setattr(listeners, "PRESSING_LIMIT", 0)  # every press "could not be recorded"
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    pack = pack_with_roles(triage_manager=["slack:U0MANAGER"], admin=["slack:U0ADMIN"])
    async with serve_bot(settings, pack) as bot:
        card = await submitted_report(bot, fake_slack)
        pressed = await bot.slack(press_body("U0MANAGER", card["Acknowledge"]))
        assert pressed.status == 200
        [told] = await fake_slack.wait_for("chat.postEphemeral", 1)
        assert told.body["user"] == "U0MANAGER" and "press the button again" in told.body["text"]
        async with bot.core.db() as s:
            [report] = await cases.list(session=s, kind="abuse_report")
        assert report.state == "new", "the press turned away changed nothing"
