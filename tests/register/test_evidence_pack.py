"""``evidence-pack REF --out FILE.zip`` and ``evidence-pack verify FILE.zip``, end to end.

A real case is made through the repositories, with three real files in a file store under
``tmp_path``; then the pack is made, checked, and tampered with in each way that matters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.model import Actor, Platform
from bot.register.evidence import safe_name
from bot.storage.engine import create_engine, session_factory
from bot.storage.files import FileStore
from bot.storage.repos import cases, events, files

REFERENCE = "AB-2026-0042"
REPORTER = Actor(Platform.TEAMS, "29:1", "Aoife Ní Bhriain", "aoife@example.org")
EVIDENCE = {
    "photo.png": b"\x89PNG\r\n\x1a\n first screenshot",
    "../../etc/passwd": b"root:x:0:0",
    "Photo.PNG": b"\x89PNG\r\n\x1a\n a second, different screenshot",
}


async def _seed(database: Path, store: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    file_store = FileStore(store)
    try:
        async with session_factory(engine).begin() as s:
            case = await cases.create(
                session=s,
                kind="abuse_report",
                reference=REFERENCE,
                state="new",
                reporter=REPORTER,
                data={"channel": "email", "description": "“you’ll pay” <script>"},
            )
            for event, state in (("submitted", "new"), ("acknowledge", "acknowledged")):
                await events.append(
                    session=s,
                    case_id=case.id,
                    actor_key=REPORTER.key,
                    actor_name=REPORTER.display_name,
                    event=event,
                    from_state=None,
                    to_state=state,
                    detail={"note": "é"},
                )
            for name, data in EVIDENCE.items():
                saved = await file_store.save(data=data, name=name, mime_type="image/png")
                await files.record(
                    session=s,
                    saved=saved,
                    name=name,
                    mime_type="image/png",
                    platform="teams",
                    case_id=case.id,
                )
    finally:
        await engine.dispose()


@pytest.fixture
def pack(database: Path, cli_env: Path, tmp_path: Path) -> Path:
    """The evidence pack of the seeded case, made by the command."""
    asyncio.run(_seed(database, cli_env))
    out = tmp_path / "police" / "pack.zip"
    assert main(["evidence-pack", REFERENCE, "--out", str(out)]) == 0
    return out


def _rewrite(
    pack: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None
) -> None:
    """Rewrite the zip: members in ``change`` get new bytes (``None`` drops them)."""
    with zipfile.ZipFile(pack) as old:
        members = [(info, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(pack, "w") as new:
        for info, data in members:
            if info.filename in change:
                replacement = change[info.filename]
                if replacement is None:
                    continue
                data = replacement
            new.writestr(info, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)


def _verify(pack: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["evidence-pack", "verify", str(pack)])
    return code, capsys.readouterr().out


def test_the_pack_holds_everything_and_verifies(
    pack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        timeline = json.loads(archive.read("timeline.json"))
        html = archive.read("report.html").decode()
        report = json.loads(archive.read("report.json"))
        stored = {n: archive.read(n) for n in names if n.startswith("files/")}
    assert names == {
        "manifest.json",
        "report.html",
        "report.json",
        "timeline.json",
        "files/photo.png",
        "files/passwd",
        "files/Photo (2).PNG",
    }
    assert sorted(stored.values()) == sorted(EVIDENCE.values())
    assert manifest["reference"] == REFERENCE and manifest["timeline_verified"] is True
    listed = {m["name"]: m for m in manifest["members"]}
    assert set(listed) == names - {"manifest.json"}
    for name, member in listed.items():
        data = stored.get(name)
        if data is not None:
            assert member["sha256"] == hashlib.sha256(data).hexdigest()
            assert member["size"] == len(data) and member["time_is"] == "received"
            assert member["matches_store_record"] is True
    assert listed["report.html"]["time_is"] == "generated"
    assert listed["files/passwd"]["original_name"] == "../../etc/passwd"
    assert [e["event"] for e in timeline["events"]] == ["submitted", "acknowledge"]
    assert timeline["events"][1]["prev_hash"] == timeline["events"][0]["hash"]
    assert REFERENCE in html and "&lt;script&gt;" in html and "<script>" not in html
    assert report["case"]["reference"] == REFERENCE
    code, out = _verify(pack, capsys)
    assert code == 0 and out.rstrip().endswith(f"OK: 6 files match the manifest of {REFERENCE}")
    assert "hash chain: intact" in out


def test_a_changed_file_is_named(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _rewrite(pack, {"files/photo.png": b"\x89PNG\r\n\x1a\n doctored"})
    code, out = _verify(pack, capsys)
    assert code == 1 and "changed: files/photo.png" in out and "OK" not in out
    assert out.count("changed:") == 1


def test_a_removed_file_is_named(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _rewrite(pack, {"files/passwd": None})
    code, out = _verify(pack, capsys)
    assert code == 1 and "removed: files/passwd" in out


def test_an_added_file_is_named(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _rewrite(pack, {}, add={"files/extra.txt": b"planted"})
    code, out = _verify(pack, capsys)
    assert code == 1 and "added: files/extra.txt" in out


def test_an_edited_timeline_breaks_its_chain(
    pack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(pack) as archive:
        timeline = json.loads(archive.read("timeline.json"))
    timeline["events"][0]["detail"] = {"note": "changed"}
    _rewrite(pack, {"timeline.json": json.dumps(timeline).encode()})
    code, out = _verify(pack, capsys)
    assert code == 1 and "changed: timeline.json" in out


def test_unknown_reference_and_bad_usage(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence-pack", "AB-1999-0001", "--out", "x.zip"]) == 1
    assert "No case with reference 'AB-1999-0001'" in capsys.readouterr().err
    for argv in (["evidence-pack", "AB-1"], ["evidence-pack", "verify"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    assert main(["evidence-pack", "verify", "missing.zip"]) == 1


def test_safe_unique_names() -> None:
    taken: set[str] = set()
    names = [safe_name(n, taken) for n in ("a.png", "A.png", "..\\..\\b c?.txt", ".", "a.png")]
    assert names == ["a.png", "A (2).png", "b c_.txt", "file", "a (3).png"]


def test_bytes_flipped_in_place_are_caught(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(pack) as archive:
        info = archive.getinfo("files/passwd")
    data = bytearray(pack.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # no zip tool involved: CRC left stale
    pack.write_bytes(bytes(data))
    code, out = _verify(pack, capsys)
    assert code == 1 and "changed: files/passwd" in out
