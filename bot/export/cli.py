"""``python -m bot export case REF --format html|pdf|json [--out FILE]``.

Reads ``DATABASE_URL`` and the policy pack like the bot itself, only reads the database,
and writes one file (or, for JSON and HTML without ``--out``, standard output). A PDF is
binary, so it needs ``--out``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

FORMATS = ("html", "pdf", "json")


def render(doc: dict[str, Any], fmt: str) -> bytes:
    """The document in one of :data:`FORMATS`, as the bytes to write.

    Raises:
        ValueError: for any other format.
    """
    if fmt == "json":
        return (json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n").encode()
    if fmt == "html":
        from bot.export.html import render_html

        return render_html(doc).encode()
    if fmt == "pdf":
        from bot.export.pdf import render_pdf

        return render_pdf(doc)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


async def export_case(*, reference: str, fmt: str, out: Path | None) -> int:
    """Export the case with this reference; return the command's exit code.

    Args:
        reference: the case's reference, e.g. ``SC-2026-0001``.
        fmt: ``"html"``, ``"pdf"`` or ``"json"``.
        out: the file to write; ``None`` for standard output (not for PDF).

    Returns:
        0 when written; 1 when there is no such case or the database cannot be read;
        2 for a bad format or a PDF without ``--out``.
    """
    if fmt not in FORMATS:
        print(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.", file=sys.stderr)
        return 2
    if fmt == "pdf" and out is None:
        print("A PDF needs a file to go to: add --out FILE.", file=sys.stderr)
        return 2
    from bot.app import load_policy
    from bot.config import Settings
    from bot.export.document import load_document
    from bot.storage.engine import create_engine, session_factory

    settings = Settings()
    pack = load_policy(settings)
    missing = _missing_sqlite_file(settings.database_url)
    if missing:
        print(f"No database at {missing} (set DATABASE_URL).", file=sys.stderr)
        return 1
    engine = create_engine(settings.database_url, cipher=settings.data_cipher())
    try:
        async with session_factory(engine)() as session:
            doc = await load_document(session, pack, reference.strip(), datetime.now(UTC))
    except SQLAlchemyError as error:
        print(f"Cannot read the database: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if doc is None:
        print(f"No case with reference {reference!r}.", file=sys.stderr)
        return 1
    return _emit(render(doc, fmt), out)


def _emit(data: bytes, out: Path | None) -> int:
    """Write the export to ``out``, or to standard output when there is none."""
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"Wrote {out}")
    return 0


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (so is not created empty)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:") or "mode=memory" in database:
        return None
    return None if Path(database).expanduser().exists() else database
