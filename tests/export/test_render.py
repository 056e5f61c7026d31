"""The HTML and PDF exports: the same content as the JSON, hostile text inert."""

from __future__ import annotations

import html
import importlib.util
import io
import re

import pytest

from bot.export import pdf as pdf_module
from bot.export.html import render_html
from bot.export.pdf import render_pdf
from tests.export.conftest import (
    APPLICANT,
    APPROVE_COMMENTS,
    BOARD,
    HOSTILE,
    MANAGER,
    REFERENCE,
    REQUEST_COMMENTS,
    SITE,
    Seeded,
)
from tests.export.test_document import export

HAVE_PYPDF = importlib.util.find_spec("pypdf") is not None


async def test_html_holds_the_whole_case(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    page = render_html(doc)
    assert page.startswith("<!DOCTYPE html>")
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for needed in (
        REFERENCE,
        seeded.pack.organisation.name,
        seeded.pack.business_case.declaration,
        "Version 1",
        "Version 2",
        "Trolls; résumé spam",
        "What changed from the version before",
        MANAGER.display_name,
        "I am aware of and support this application",
        BOARD.display_name,
        APPROVE_COMMENTS,
        REQUEST_COMMENTS,
        SITE,
        "Signed",
        "Review date",
        APPLICANT.display_name,
        "“quotes” and a £100 budget",
    ):
        assert needed in text, needed
    for event in doc["timeline"]:
        assert event["hash"] in text
    assert text.count("Request changes") >= 1 and "Resubmit" in text and "Note" in text


async def test_html_escapes_every_value(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    page = render_html(doc)
    assert "<script" not in page.lower()
    assert "<!channel>" not in page
    assert html.escape(HOSTILE) in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_pdf_renders_unicode_and_names_the_reference(seeded: Seeded) -> None:
    doc = await export(seeded)
    assert doc is not None
    data = render_pdf(doc)
    assert data.startswith(b"%PDF")
    assert REFERENCE.encode() in data  # the title metadata
    if HAVE_PYPDF:
        from pypdf import PdfReader

        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert REFERENCE in text and "£100" in text and "Brontë" in text


async def test_pdf_falls_back_to_a_core_font(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """Without DejaVu the PDF still renders: curly quotes, £ and é survive (Windows-1252)."""
    monkeypatch.setattr(
        pdf_module, "FONT_CANDIDATES", ((tmp_path / "no.ttf", tmp_path / "no-b.ttf"),)
    )
    doc = await export(seeded)
    assert doc is not None
    doc["answers"][0]["value"] = "Arrows → and 漢字 are replaced, “quotes” £ é kept"
    data = render_pdf(doc)
    assert data.startswith(b"%PDF")
    assert REFERENCE.encode() in data
    assert b"/WinAnsiEncoding" in data
    assert b"DejaVu" not in data
