"""Encryption at rest through the wire: a real report over Slack with ``BOT_DATA_KEY`` set.

The raw bytes of the SQLite file and of every evidence file on disk hold none of what the
reporter wrote or sent, while the bot still shows it to a manager and the operator commands
(case export, register export, evidence pack) still write it out. Then the key is rotated
with ``python -m bot keys rotate``, the old key dropped, and ``serve`` refuses to start with
a key that cannot open what is stored. Without a key the same bytes are in the clear, which
shows the raw-bytes check can see plain text when it is there.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.storage.crypto import DataCipher, generate_key, key_id, open_tree
from bot.storage.engine import create_engine, session_factory
from bot.storage.files import FileStore
from bot.storage.repos import cases, events
from bot.storage.repos import files as stored_files
from bot.storage.rotate import sealed_columns
from bot.storage.types import SealedJSON
from tests.e2e.test_cli import run
from tests.e2e.test_slack_scenario import report_every_branch, the_report
from tests.e2e.test_slack_triage import MANAGERS, buttons, press
from tests.e2e.test_slack_wire import shown
from tests.support.bot_fixtures import BotClient, pack_with_roles, serve_bot, slack_settings
from tests.support.fake_slack import FakeSlack

OLD, NEW = generate_key(), generate_key()
# What the reporter wrote and sent: (ASCII, as JSON may escape anything else).
WRITTEN = (b"evil.example", b"Guidance 42", b"shot0.png", b"shot2.png")
SENT = (b"png-0", b"png-1", b"png-2")


async def report_over_slack(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, key: str | None
) -> str:
    """Serve the bot, file a report taking every branch, check a manager sees it whole.

    Returns:
        The report's reference.
    """
    pack = pack_with_roles(triage_manager=[f"slack:{m}" for m in MANAGERS], admin=["slack:U0ADMIN"])
    settings = slack_settings(sqlite_url, fake_slack, tmp_path)
    if key is not None:
        settings = settings.model_copy(update={"bot_data_key": SecretStr(key)})
    async with serve_bot(settings, pack) as bot:
        await report_every_branch(bot, fake_slack)
        report = await the_report(bot)
        await manager_sees_the_details(bot, fake_slack)
    return str(report.reference)


async def manager_sees_the_details(bot: BotClient, fake_slack: FakeSlack) -> None:
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    triage = next(c for c in posts if c.body["channel"] == "C0TRIAGE")
    opened = len(fake_slack.called("views.open"))
    await press(bot, "U0MANAGER", buttons(triage.json_arg("blocks"))["View details"])
    modal = (await fake_slack.wait_for("views.open", opened + 1))[-1].json_arg("view")
    content = shown(json.dumps(modal, ensure_ascii=False))
    assert "Guidance 42" in content and "shot0.png" in content and "evil.example" in content


def raw_bytes(tmp_path: Path) -> tuple[bytes, list[bytes]]:
    """The database files (with any WAL) and every evidence file, as they are on disk."""
    database = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("bot.db*")))
    evidence = [p.read_bytes() for p in sorted((tmp_path / "files").rglob("*")) if p.is_file()]
    return database, evidence


def cli(tmp_path: Path, *args: str, key: str) -> Any:
    return run(
        *args,
        cwd=tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        BOT_FILE_STORE=str(tmp_path / "files"),
        BOT_DATA_KEY=key,
    )


async def test_with_a_key_nothing_written_or_sent_is_on_disk_and_all_of_it_is_exported(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = await report_over_slack(sqlite_url, fake_slack, tmp_path, OLD)
    database, evidence = raw_bytes(tmp_path)
    assert len(evidence) == 3 and database.count(b"sealed:v1:") > 50
    for needle in WRITTEN:
        assert needle not in database, needle
    for stored in evidence:
        assert stored.startswith(f"sealed:v1:{key_id(OLD)}:".encode())
        assert not any(needle in stored for needle in SENT)

    case = cli(tmp_path, "export", "case", reference, "--format", "json", key=OLD)
    assert case.returncode == 0, case.stderr
    assert "evil.example" in case.stdout and "Guidance 42" in case.stdout
    register = cli(tmp_path, "export", "register", "--format", "csv", key=OLD)
    assert register.returncode == 0 and "Guidance 42" in register.stdout, register.stderr
    pack = cli(tmp_path, "evidence-pack", reference, "--out", str(tmp_path / "p.zip"), key=OLD)
    assert pack.returncode == 0, pack.stderr
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
        received = [m for m in manifest["members"] if m["time_is"] == "received"]
        assert sorted(archive.read(m["name"]) for m in received) == list(SENT)
    assert sorted(m["original_name"] for m in received) == [f"shot{i}.png" for i in range(3)]
    assert all(m["matches_store_record"] for m in received), "hashes are of what was sent"
    plain, stored = json_sizes(tmp_path / "bot.db", DataCipher.from_text(OLD))
    with capsys.disabled():
        print(
            f"\n[encryption] one report with every branch: {database.count(b'sealed:v1:')} "
            f"sealed values in the database, {len(evidence)} sealed evidence files, "
            f"{sum(database.count(n) for n in WRITTEN)} plain-text hits; sealed JSON columns "
            f"hold {stored:,} bytes for {plain:,} bytes of JSON ({stored / plain:.1f}x)"
        )


def json_sizes(database: Path, cipher: DataCipher) -> tuple[int, int]:
    """Bytes of JSON in the sealed JSON columns: as it would be plain, and as stored."""
    plain = stored = 0
    with contextlib.closing(sqlite3.connect(database)) as connection:
        for table, column in sealed_columns():
            if isinstance(column.type, SealedJSON):
                for (raw,) in connection.execute(f"SELECT {column.name} FROM {table.name}"):
                    opened = open_tree(json.loads(raw), cipher)
                    plain, stored = plain + len(json.dumps(opened)), stored + len(raw)
    return plain, stored


async def test_rotation_then_dropping_the_old_key_and_a_wrong_key_stops_serve(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    await report_over_slack(sqlite_url, fake_slack, tmp_path, OLD)

    rotated = cli(tmp_path, "keys", "rotate", "--batch-size", "3", key=f"{NEW},{OLD}")
    assert rotated.returncode == 0, rotated.stderr
    assert f"everything stored is sealed with key {key_id(NEW)}" in rotated.stdout
    assert f"Key(s) {key_id(OLD)} now seal nothing" in rotated.stdout
    status = cli(tmp_path, "keys", "status", key=NEW)
    assert status.returncode == 0 and status.stdout.startswith(f"{key_id(NEW)}: "), status.stdout
    assert len(status.stdout.splitlines()) == 1, "no old key, nothing plain"

    engine = create_engine(sqlite_url, cipher=DataCipher.from_text(NEW))
    store = FileStore(tmp_path / "files", cipher=DataCipher.from_text(NEW))
    try:
        async with session_factory(engine)() as session:
            [report] = await cases.list(session=session, kind="abuse_report")
            timeline = await events.timeline(session=session, case_id=report.id)
            evidence = await stored_files.list_for_case(session=session, case_id=report.id)
        assert events.verify_chain(timeline) and "evil.example" in report.data["description"]
        assert sorted([await store.read(row.path) for row in evidence]) == list(SENT)
    finally:
        await engine.dispose()

    for key, words in (
        (OLD, f"sealed with key {key_id(NEW)}, which BOT_DATA_KEY does not list"),
        ("", f"sealed with key {key_id(NEW)} but BOT_DATA_KEY is not set"),
        (f"{NEW[:-3]}!!=", "key 1 of 1 is not a key"),  # a typo: named, never shown
    ):
        refused = run("serve", cwd=tmp_path, PORT=str(free_port()), **serve_env(tmp_path, key))
        assert refused.returncode == 1, refused.stdout
        assert "Cannot start:" in refused.stderr and words in refused.stderr, refused.stderr
        assert not key or key[:20] not in refused.stdout + refused.stderr


def serve_env(tmp_path: Path, key: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "BOT_FILE_STORE": str(tmp_path / "files"),
        "BOT_DATA_KEY": key,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_without_a_key_the_same_report_is_on_disk_in_the_clear(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    await report_over_slack(sqlite_url, fake_slack, tmp_path, None)
    database, evidence = raw_bytes(tmp_path)
    assert b"sealed:v1:" not in database
    assert all(needle in database for needle in WRITTEN)
    assert sorted(evidence) == list(SENT), "files stored exactly as received"
