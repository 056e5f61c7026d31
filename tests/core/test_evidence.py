"""Evidence intake on a real SQLite file and file store: limits, and no file recorded twice."""

from __future__ import annotations

from pathlib import Path

from bot.evidence import take_in
from bot.handlers.slack.files import SlackFileFetcher
from bot.model import FileUpload, Platform
from bot.policy import load_default_pack
from bot.storage.engine import create_engine, session_factory
from bot.storage.files import FileStore
from bot.storage.migrate import upgrade
from bot.storage.repos import files as stored_files

CONTENT = {"a.png": b"first screenshot", "b.png": b"second screenshot"}


async def fetch(upload: FileUpload) -> bytes:
    """The bytes a platform would serve for each name (the platform's side of a download)."""
    return CONTENT[upload.name]


async def test_the_same_file_sent_again_is_stored_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    engine = create_engine(url)
    db, store = session_factory(engine), FileStore(tmp_path / "files")
    limits = load_default_pack().abuse_report.evidence_limits
    uploads = [FileUpload(name, f"https://files.slack.com/{name}", "image/png") for name in CONTENT]
    try:
        first = await take_in(
            db=db,
            store=store,
            limits=limits,
            uploads=uploads,
            fetch=fetch,
            platform=Platform.SLACK,
            draft_id="d1",
        )
        again = await take_in(
            db=db,
            store=store,
            limits=limits,
            uploads=[*uploads, uploads[0]],
            fetch=fetch,
            platform=Platform.SLACK,
            draft_id="d1",
        )
        async with db() as s:
            recorded = await stored_files.list_for_session(session=s, session_id="d1")
    finally:
        await engine.dispose()
    assert first.error is None and again.error is None
    assert again.file_ids == first.file_ids and len(set(first.file_ids)) == 2
    assert len(recorded) == 2


def test_the_bot_token_goes_only_to_slack_over_https_or_the_configured_api() -> None:
    fetcher = SlackFileFetcher(token="xoxb-1", api_url="http://127.0.0.1:9/api/", max_bytes=10)
    assert fetcher._trusted("https://files.slack.com/files-pri/T1-F1/a.png")
    assert fetcher._trusted("http://127.0.0.1:9/files/F1/a.png")
    assert not fetcher._trusted("http://files.slack.com/files-pri/T1-F1/a.png")
    assert not fetcher._trusted("https://files.slack.com.evil.example/a.png")
