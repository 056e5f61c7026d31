"""Encryption at rest in the database, on SQLite and PostgreSQL: sealed where it is stored,
plain where it is read, old plain values still read, and altered values refused.

Raw values are read with an engine that has no key and ``CAST(column AS TEXT)``: exactly the
bytes an attacker with a copy of the database would see.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import JSON, Text, cast, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.model import Actor, Platform
from bot.register.query import Filters, records
from bot.storage import migrate
from bot.storage.crypto import BadDataKey, DataCipher, DataKeyError, generate_key, key_id
from bot.storage.engine import create_engine, session_factory
from bot.storage.repos import cases, events, outbox
from bot.storage.repos import sessions as drafts
from bot.storage.tables import Case, CaseEvent, CaseVersion, FlowSession, OutboxMessage

Sessions = async_sessionmaker[AsyncSession]
SECRET = "He said he knows where I live — 14 Elm Road"
ANSWERS: dict[str, Any] = {
    "description": SECRET,
    "channel": "email",
    "work_item": "Guidance 42",
    "protected_characteristics": ["race_or_nationality"],
    "evidence": ["f1", "f2"],
    "ongoing": True,
    "count": 3,
}
KEY, OTHER_KEY = generate_key(), generate_key()


@pytest.fixture
async def migrated(database_url: str) -> str:
    await migrate.upgrade(database_url)
    return database_url


@pytest.fixture
async def open_engines() -> AsyncIterator[list[AsyncEngine]]:
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()


@pytest.fixture
def db_with(migrated: str, open_engines: list[AsyncEngine]) -> Any:
    """``db_with("k1,k2")``: a session factory whose engine has those keys (``None``: none)."""

    def make(keys: str | None) -> Sessions:
        cipher = DataCipher.from_text(keys) if keys else None
        engine = create_engine(migrated, cipher=cipher)
        open_engines.append(engine)
        return session_factory(engine)

    return make


async def store_report(db: Sessions, user: str = "U0REPORTER") -> cases.CaseRow:
    """A case, a version, two timeline events, a draft and a queued card, as the bot writes."""
    reporter = Actor(Platform.SLACK, "U0REPORTER", "Rae Porter")
    async with db() as session, session.begin():
        case = await cases.create(
            session=session,
            kind="abuse_report",
            reference=await cases.next_reference(session=session, prefix="AB", year=2026),
            state="new",
            reporter=reporter,
            data=ANSWERS,
        )
        await cases.add_version(session=session, case_id=case.id, data=ANSWERS, created_by="me")
        for event, note in (("submitted", SECRET), ("check_in", f"Rang her: {SECRET}")):
            await events.append(
                session=session,
                case_id=case.id,
                actor_key="slack:U0MANAGER",
                actor_name="Manager",
                event=event,
                from_state=None,
                to_state="new",
                detail={"note": note, "urgent": True},
            )
        await drafts.create(
            session=session, platform="slack", user_id=user, flow="abuse_report",
            step="what_happened", answers={"description": SECRET},
        )  # fmt: skip
        await outbox.enqueue(
            session=session, platform="slack", operation="post", target={"channel": "C1"},
            card={"title": "Report", "elements": [{"type": "text", "text": SECRET}]},
        )  # fmt: skip
    return case


SEALED_COLUMNS = (Case.data, CaseVersion.data, CaseEvent.detail, FlowSession.answers)


async def raw_values(db: Sessions) -> list[str]:
    """Every sealed column's stored text, as the database holds it."""
    found: list[str] = []
    async with db() as session:
        for column in (*SEALED_COLUMNS, OutboxMessage.card):
            found += [str(v) for v in await session.scalars(select(cast(column, Text)))]
    return found


async def test_with_a_key_free_text_is_sealed_where_stored_and_plain_where_read(
    db_with: Any,
) -> None:
    db = db_with(KEY)
    case = await store_report(db)
    stored = await raw_values(db_with(None))
    assert len(stored) == 6
    for text in stored:
        assert SECRET not in text and "Elm Road" not in text and "Guidance 42" not in text
        assert f"sealed:v1:{key_id(KEY)}:" in text
    async with db() as session:
        assert (await cases.get(session=session, case_id=case.id)).data == ANSWERS  # type: ignore[union-attr]
        [version] = await cases.list_versions(session=session, case_id=case.id)
        timeline = await events.timeline(session=session, case_id=case.id)
        draft = await drafts.get_open(
            session=session, platform="slack", user_id="U0REPORTER", flow="abuse_report"
        )
        queued = await session.scalar(select(OutboxMessage.card))
    assert version.data == ANSWERS and draft is not None and draft.answers["description"] == SECRET
    assert [e.detail["note"] for e in timeline] == [SECRET, f"Rang her: {SECRET}"]
    assert events.verify_chain(timeline)
    assert queued is not None and queued["elements"][0]["text"] == SECRET
    # The register picks single answers out of the JSON in SQL, and still gets them opened.
    [record] = [r async for r in records(db, Filters())]
    assert record.answers["channel"] == "email" and record.answers["work_item"] == "Guidance 42"


async def test_without_a_key_everything_is_stored_as_before(db_with: Any) -> None:
    db = db_with(None)
    case = await store_report(db)
    async with db_with(None)() as session:
        raw = await session.scalar(select(cast(Case.data, Text)).where(Case.id == case.id))
        stored = await session.scalar(select(Case.data).where(Case.id == case.id))
    assert "14 Elm Road" in str(raw) and "sealed:" not in str(raw)
    assert json.loads(str(raw)) == ANSWERS
    assert stored == ANSWERS


async def test_values_from_before_the_key_still_read_and_new_ones_are_sealed(
    db_with: Any,
) -> None:
    before = await store_report(db_with(None))
    keyed = db_with(KEY)
    after = await store_report(keyed, user="U0SECOND")
    async with keyed() as session:
        old = await cases.get(session=session, case_id=before.id)
        new = await cases.get(session=session, case_id=after.id)
        assert old is not None and new is not None and old.data == new.data == ANSWERS
        assert events.verify_chain(await events.timeline(session=session, case_id=before.id))
    raw = await raw_values(db_with(None))
    assert sum("sealed:" in text for text in raw) == len(raw) // 2


async def test_a_sealed_value_needs_its_key_and_says_which(db_with: Any) -> None:
    case = await store_report(db_with(KEY))
    for keys, words in (
        (None, f"sealed with key {key_id(KEY)} but BOT_DATA_KEY is not set"),
        (OTHER_KEY, f"sealed with key {key_id(KEY)}, which BOT_DATA_KEY does not list"),
    ):
        with pytest.raises(DataKeyError, match=words):
            async with db_with(keys)() as session:
                await cases.get(session=session, case_id=case.id)


async def test_an_altered_value_is_refused_not_misread(db_with: Any) -> None:
    db = db_with(KEY)
    case = await store_report(db)
    plain = db_with(None)
    async with plain() as session, session.begin():
        raw = str(await session.scalar(select(cast(Case.data, Text)).where(Case.id == case.id)))
        # Flip one character inside the description's ciphertext (not its padding).
        start = raw.index("sealed:v1:") + 40
        flipped = raw[:start] + ("A" if raw[start] != "A" else "B") + raw[start + 1 :]
        # Written as raw JSON: through the column type, it would be kept as typed text.
        tampered = type_coerce(json.loads(flipped), JSON())
        await session.execute(update(Case).where(Case.id == case.id).values({Case.data: tampered}))
    with pytest.raises(DataKeyError, match="failed its integrity check"):
        async with db() as session:
            await cases.get(session=session, case_id=case.id)


async def test_text_that_looks_sealed_is_kept_as_typed_with_or_without_a_key(
    db_with: Any,
) -> None:
    lookalikes = [DataCipher.from_text(OTHER_KEY).seal("planted"), "sealed:plain:x", "sealed:"]
    for keys in (None, KEY):
        db = db_with(keys)
        async with db() as session, session.begin():
            draft = await drafts.create(
                session=session, platform="slack", user_id=f"U-{keys}", flow="abuse_report",
                step="what_happened", answers={"description": lookalikes},
            )  # fmt: skip
        async with db() as session:
            stored = await drafts.get(session=session, session_id=draft.id)
        assert stored is not None and stored.answers["description"] == lookalikes


def test_keys_are_parsed_newest_first_and_a_bad_one_is_named_not_shown() -> None:
    cipher = DataCipher.from_text(f" {KEY}, {OTHER_KEY} ,{KEY}")
    assert cipher.key_ids == (key_id(KEY), key_id(OTHER_KEY))
    sealed = cipher.seal(SECRET)
    assert sealed.startswith(f"sealed:v1:{key_id(KEY)}:") and cipher.open(sealed) == SECRET
    assert DataCipher.from_text(OTHER_KEY + "," + KEY).open(sealed) == SECRET
    assert cipher.seal(SECRET) != sealed, "a fresh IV every time"
    typo = KEY[:-3] + "!!="
    with pytest.raises(BadDataKey) as refused:
        DataCipher.from_text(f"{OTHER_KEY},{typo}")
    assert "key 2 of 2" in str(refused.value) and typo not in str(refused.value)
    with pytest.raises(DataKeyError, match="not in the sealed format"):
        cipher.open("sealed:v1:zz:nothing")


def test_figures_for_sealing(capsys: pytest.CaptureFixture[str]) -> None:
    cipher = DataCipher.from_text(KEY)
    rounds = 2000
    started = time.perf_counter()
    sealed = [cipher.seal(SECRET) for _ in range(rounds)]
    sealing = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    assert all(cipher.open(value) == SECRET for value in sealed)
    opening = (time.perf_counter() - started) / rounds
    with capsys.disabled():
        print(
            f"\n[encryption] seal {sealing * 1e6:.1f} µs, open {opening * 1e6:.1f} µs per value; "
            f"a {len(SECRET.encode())}-byte answer is stored as {len(sealed[0])} characters"
        )
    assert sealing < 0.005 and opening < 0.005


def test_the_key_is_a_secret_and_the_start_up_line_names_only_its_id() -> None:
    settings = Settings(_env_file=None, BOT_DATA_KEY=f"{KEY},{OTHER_KEY}")
    line = settings.encryption_status()
    assert line.startswith(f"Encryption at rest: on, new data sealed with key {key_id(KEY)}")
    assert "1 older key" in line
    shown = repr(settings) + str(settings) + settings.model_dump_json() + line
    assert KEY not in shown and OTHER_KEY not in shown
    off = Settings(_env_file=None).encryption_status()
    assert off.startswith("Encryption at rest: off") and "BOT_DATA_KEY" in off
    assert Settings(_env_file=None, BOT_DATA_KEY=" ").data_cipher() is None
