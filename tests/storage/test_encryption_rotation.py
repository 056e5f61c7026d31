"""Key rotation on SQLite and PostgreSQL: old values read with ``[new, old]``, ``rotate``
reseals everything so ``[new]`` alone reads it, the timeline's hash chain still verifies,
and the walk is batched, idempotent and resumable after a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.storage.crypto import DataCipher, DataKeyError, generate_key, key_id
from bot.storage.files import FileStore
from bot.storage.repos import cases, events, outbox
from bot.storage.rotate import key_usage, rotate_database, sealed_columns
from bot.storage.tables import Case
from tests.storage.test_encryption import ANSWERS, SECRET, Sessions, store_report
from tests.storage.test_encryption import db_with as db_with
from tests.storage.test_encryption import migrated as migrated
from tests.storage.test_encryption import open_engines as open_engines

OLD, NEW, STRAY = generate_key(), generate_key(), generate_key()


async def read_everything(db: Sessions) -> list[Any]:
    """Every case with its timeline, read through the repositories (opening every value)."""
    async with db() as session:
        found = []
        for case in await cases.list(session=session, limit=100):
            timeline = await events.timeline(session=session, case_id=case.id)
            found.append((case.data, [e.detail for e in timeline], events.verify_chain(timeline)))
    return found


async def chain_hashes(db: Sessions) -> list[str]:
    """Every stored event hash, case by case."""
    async with db() as session:
        found = []
        for case in await cases.list(session=session, limit=100):
            found += [e.hash for e in await events.timeline(session=session, case_id=case.id)]
    return found


async def test_rotation_moves_everything_to_the_newest_key_and_keeps_the_chain(
    db_with: Any, tmp_path: Path
) -> None:
    await store_report(db_with(None), user="U0BEFORE")  # from before encryption was on
    await store_report(db_with(OLD), user="U0OLD")
    both = db_with(f"{NEW},{OLD}")
    await store_report(both, user="U0NEW")
    before = await read_everything(both)
    assert all(chain_ok for _, _, chain_ok in before) and len(before) == 3
    hashes = await chain_hashes(both)
    with pytest.raises(DataKeyError, match=f"key {key_id(OLD)}"):
        await read_everything(db_with(NEW))

    tallies = await rotate_database(both, DataCipher.from_text(f"{NEW},{OLD}"), batch_size=2)

    by_name = {t.name: t for t in tallies}
    assert by_name["cases.data"].read == 3 and by_name["cases.data"].rewritten == 2
    assert by_name["case_events.detail"].rewritten == 4
    alone = db_with(NEW)
    assert await read_everything(alone) == before
    assert await chain_hashes(alone) == hashes, "hashes are over the plain text: unchanged"
    usage = await key_usage(alone, FileStore(tmp_path / "files"))
    assert set(usage) == {key_id(NEW)}, usage
    again = await rotate_database(both, DataCipher.from_text(f"{NEW},{OLD}"))
    assert sum(t.rewritten for t in again) == 0, "a second run changes nothing"


async def test_an_interrupted_rotation_keeps_its_batches_and_finishes_when_run_again(
    db_with: Any,
) -> None:
    case = await store_report(db_with(OLD))
    for keys in (OLD, OLD, OLD, STRAY, OLD):  # card 5 is sealed with a key not listed
        async with db_with(keys)() as session, session.begin():
            await outbox.enqueue(
                session=session, platform="slack", operation="post", target={"c": 1},
                card={"text": SECRET}, case_id=case.id,
            )  # fmt: skip
    listed = DataCipher.from_text(f"{NEW},{OLD}")
    with pytest.raises(DataKeyError, match=rf"outbox\.card, row 5: .*key {key_id(STRAY)}"):
        await rotate_database(db_with(f"{NEW},{OLD}"), listed, batch_size=2)
    order = [f"{table.name}.{column.name}" for table, column in sealed_columns()]
    assert order.index("cases.data") < order.index("outbox.card")

    everything = DataCipher.from_text(f"{NEW},{OLD},{STRAY}")
    second = {
        t.name: t
        for t in await rotate_database(db_with(f"{NEW},{OLD},{STRAY}"), everything, batch_size=2)
    }

    assert second["cases.data"].rewritten == 0, "finished before the failure: not redone"
    # Row 1 is the report's own card. Batches [1, 2] and [3, 4] were committed before the
    # failure; [5, 6] was rolled back, so only those two are left to do.
    assert second["outbox.card"].read == 6 and second["outbox.card"].rewritten == 2
    async with db_with(NEW)() as session:
        stored = await session.scalar(select(Case.data).where(Case.id == case.id))
    assert stored == ANSWERS
