"""An exported case as a PDF, drawn with fpdf2 (pure Python, no system libraries).

Fonts: fpdf2 ships no TrueType font, only the 14 PDF core fonts, whose single-byte
encodings cannot carry most of Unicode. So the PDF embeds DejaVu Sans (a subset, only the
glyphs used) from the Debian ``fonts-dejavu-core`` package when it is installed, which covers
curly quotes, £, accented and most non-Latin names. Without it the PDF falls back to the
core Helvetica in the Windows-1252 encoding (fpdf2's ``core_fonts_encoding``; the PDF says
``WinAnsiEncoding``), which still covers curly quotes, dashes, £, € and Western European
accents; any other character is written as ``?`` (a few, such as ``→``, as ASCII look-alikes)
rather than failing the export. :data:`FONT_CANDIDATES` lists where fonts are looked for.

Everything is laid out as flowing lines (``multi_cell``), never table rows, so an answer of
any length breaks across pages instead of failing to fit. The reference is in the PDF's
title metadata and every page's footer.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.export.layout import Block, Page, layout

FONT_CANDIDATES: tuple[tuple[Path, Path], ...] = (
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
)
FALLBACK_ENCODING = "cp1252"
LOOK_ALIKES = str.maketrans({"→": "->", "←": "<-", "≤": "<=", "≥": ">=", "−": "-", "✓": "v"})
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
GREY, RED, BLACK, BLUE = (85, 85, 85), (170, 0, 0), (17, 17, 17), (0, 94, 184)
LINE = 5.0
INDENT = 6.0


class _CasePdf(FPDF):
    """A4 portrait with the reference and page number in every footer."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.body_family = "Helvetica"
        self.unicode_font = False
        for regular, bold in FONT_CANDIDATES:
            if regular.is_file() and bold.is_file():
                self.add_font("DejaVu", "", str(regular))
                self.add_font("DejaVu", "B", str(bold))
                self.body_family, self.unicode_font = "DejaVu", True
                break
        else:
            self.core_fonts_encoding = FALLBACK_ENCODING
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)

    def clean(self, text: str) -> str:
        """Text the chosen font can draw: no control characters; non-1252 ones replaced."""
        text = CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
        if self.unicode_font:
            return text
        text = text.translate(LOOK_ALIKES)
        return text.encode(FALLBACK_ENCODING, "replace").decode(FALLBACK_ENCODING)

    def font(self, size: float, bold: bool = False, colour: tuple[int, int, int] = BLACK) -> None:
        """Set the font face, size and colour for what is written next."""
        self.set_font(self.body_family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def write_lines(self, text: str, indent: float = 0.0, height: float = LINE) -> None:
        """Write wrapped text from the left margin (plus ``indent``) to the right margin."""
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, height, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        """The reference and ``page N of M`` at the foot of every page."""
        self.set_y(-12)
        self.font(8, colour=GREY)
        self.cell(0, 5, self.clean(f"{self.footer_text}   page {self.page_no()} of {{nb}}"))


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The document (see :mod:`bot.export.document`) as a PDF file's bytes.

    Args:
        doc: the exported case.

    Returns:
        The PDF, starting with ``%PDF``.
    """
    page = layout(doc)
    meta = doc["document"]
    pdf = _CasePdf(f"{page.title}, {meta['organisation']}")
    pdf.set_title(page.title)
    pdf.set_author(meta["organisation"])
    pdf.set_subject(f"{page.title}: the whole case, for the records and FOI requests")
    pdf.set_creator(meta["format"])
    pdf.set_lang("en-GB")
    pdf.set_creation_date(datetime.fromisoformat(meta["exported_at"]))
    pdf.add_page()
    _draw(pdf, page)
    return bytes(pdf.output())


def _draw(pdf: _CasePdf, page: Page) -> None:
    pdf.font(18, bold=True)
    pdf.write_lines(page.title, height=9)
    pdf.font(10, colour=GREY)
    for line in page.subtitle:
        pdf.write_lines(line)
    for section in page.sections:
        pdf.ln(4)
        if pdf.will_page_break(30):
            pdf.add_page()
        pdf.font(14, bold=True, colour=BLUE)
        pdf.write_lines(section.title, height=8)
        pdf.set_draw_color(*BLUE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2)
        for block in section.blocks:
            _block(pdf, block)


def _block(pdf: _CasePdf, block: Block) -> None:
    if block.kind == "subheading":
        pdf.ln(2)
        if pdf.will_page_break(20):
            pdf.add_page()
        pdf.font(11, bold=True)
        pdf.write_lines(block.text, height=6)
    elif block.kind == "text":
        colour = {"muted": GREY, "alert": RED}.get(block.style, BLACK)
        pdf.font(10, bold=block.style == "alert", colour=colour)
        pdf.write_lines(block.text)
    elif block.kind == "changes":
        pdf.font(10, bold=True)
        pdf.write_lines(block.text)
        if not block.rows:
            pdf.font(10, colour=GREY)
            pdf.write_lines("No answer changed.", indent=INDENT)
        for label, was, now in block.rows:
            pdf.font(9.5, bold=True)
            pdf.write_lines(label, indent=INDENT)
            pdf.font(9.5, colour=GREY)
            pdf.write_lines(f"Was: {was or '(blank)'}", indent=2 * INDENT)
            pdf.font(9.5)
            pdf.write_lines(f"Now: {now or '(blank)'}", indent=2 * INDENT)
        pdf.ln(1)
    else:
        for label, value in block.rows:
            pdf.font(9.5, bold=True)
            pdf.write_lines(label)
            pdf.font(9.5)
            pdf.write_lines(value, indent=INDENT)
        pdf.ln(1)
