"""An exported case as one self-contained, print-friendly HTML page.

No scripts, no external style sheets, fonts or images: the page opens the same offline and
years later. Every value that reaches the page goes through :func:`html.escape` (quotes
included), because answers and comments are free text typed by people: ``<script>`` in an
answer comes out as the visible text ``<script>``, never as markup.
"""

from __future__ import annotations

import html
from typing import Any

from bot.export.layout import Block, Section, layout

CSS = """
:root { color-scheme: light; }
body { font: 11pt/1.45 "DejaVu Sans", Arial, Helvetica, sans-serif; color: #111;
       max-width: 60em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #005eb8; padding-bottom: .15em;
     margin-top: 1.8em; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
p.subtitle { margin: .1em 0; color: #333; }
p.muted { color: #555; font-style: italic; }
p.alert { color: #a00; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border: 1px solid #bbb; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f0f4f8; }
th[scope=row] { width: 32%; font-weight: 600; }
td { white-space: pre-wrap; overflow-wrap: anywhere; }
caption { text-align: left; font-weight: 600; padding: .2em 0; }
@page { margin: 18mm 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  tr { break-inside: avoid; }
  th { background: none; }
}
"""


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def render_html(doc: dict[str, Any]) -> str:
    """The document (see :mod:`bot.export.document`) as a complete HTML page.

    Args:
        doc: the exported case.

    Returns:
        The page as text, to be written as UTF-8.
    """
    page = layout(doc)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{e(doc["document"]["format"])}">',
        f"<title>{e(page.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(page.title)}</h1>",
        *(f'<p class="subtitle">{e(line)}</p>' for line in page.subtitle),
        "</header>",
        "<main>",
        *(_section(section) for section in page.sections),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _section(section: Section) -> str:
    body = "\n".join(_block(block) for block in section.blocks)
    return f"<section>\n<h2>{e(section.title)}</h2>\n{body}\n</section>"


def _block(block: Block) -> str:
    if block.kind == "subheading":
        return f"<h3>{e(block.text)}</h3>"
    if block.kind == "text":
        style = f' class="{e(block.style)}"' if block.style else ""
        return f"<p{style}>{e(block.text)}</p>"
    if block.kind == "changes":
        caption = f"<caption>{e(block.text)}</caption>"
        if not block.rows:
            return f'<table>{caption}<tr><td class="muted">No answer changed.</td></tr></table>'
        head = (
            '<tr><th scope="col">Question</th><th scope="col">Was</th><th scope="col">Now</th></tr>'
        )
        rows = "\n".join(
            f'<tr><th scope="row">{e(label)}</th><td>{e(was)}</td><td>{e(now)}</td></tr>'
            for label, was, now in block.rows
        )
        return f"<table>{caption}<thead>{head}</thead><tbody>{rows}</tbody></table>"
    rows = "\n".join(
        f'<tr><th scope="row">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in block.rows
    )
    return f"<table><tbody>{rows}</tbody></table>"
