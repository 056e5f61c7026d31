"""Bar charts for the monthly report, drawn by matplotlib (Agg) as base64 PNG.

A count from 1 to 4 is never drawn as its height: its bar is drawn with no height and
labelled "fewer than 5", the same words as the tables. Every other bar is labelled with
its count. Figures are built with :class:`matplotlib.figure.Figure` directly, so no global
pyplot state is touched and nothing needs a display.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.register.stats import FEWER, THRESHOLD, shown

BLUE = "#005eb8"
LABEL_CHARS = 40


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(title: str, items: list[tuple[str, int]], *, horizontal: bool = True) -> str:
    """A bar chart of ``items`` (see :func:`draw`) as a base64-encoded PNG."""
    buffer = io.BytesIO()
    draw(title, items, horizontal=horizontal).savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def draw(title: str, items: list[tuple[str, int]], *, horizontal: bool = True) -> Figure:
    """A bar chart of ``items``, counts from 1 to 4 drawn with no height and worded.

    Args:
        title: drawn above the chart.
        items: (label, count) pairs in the order to draw.
        horizontal: bars across (for long labels) or up (for months).
    """
    labels = [_short(label) for label, _ in items]
    heights = [0 if 0 < n < THRESHOLD else n for _, n in items]
    texts = [shown(n) for _, n in items]
    top = max([*heights, THRESHOLD]) * 1.3
    size = (8, 1.2 + 0.38 * len(items)) if horizontal else (9, 4)
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(items)))
    if horizontal:
        axes.barh(positions, heights, color=BLUE)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlim(0, top)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for y, (height, text) in enumerate(zip(heights, texts, strict=True)):
            style = "italic" if text == FEWER else "normal"
            axes.text(height + top * 0.01, y, text, va="center", fontsize=9, style=style)
    else:
        axes.bar(positions, heights, color=BLUE)
        axes.set_xticks(positions, [label.replace(" ", "\n") for label in labels])
        axes.set_ylim(0, top)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        for x, (height, text) in enumerate(zip(heights, texts, strict=True)):
            fewer = text == FEWER
            axes.text(
                x,
                height + top * 0.01,
                text.replace(" ", "\n", 1) if fewer else text,
                ha="center",
                va="bottom",
                fontsize=8,
                style="italic" if fewer else "normal",
            )
    axes.set_title(title)
    axes.spines[["top", "right"]].set_visible(False)
    return figure
