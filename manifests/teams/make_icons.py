"""Draw the Teams app icons (a shield with a tick) as PNG files, in pure Python.

Microsoft Teams wants two icons at the root of the app package:

* ``color.png``: 192 x 192, full colour. A white shield with a tick in the accent colour, on a
  square of the accent colour.
* ``outline.png``: 32 x 32, white on a transparent background (no other colour). A white
  shield with the tick cut out, so the Teams app bar can tint it.

The output is deterministic (same bytes on every run), so the committed PNGs can be checked
against this script. Run from anywhere::

    python manifests/teams/make_icons.py          # writes next to this file
    python manifests/teams/make_icons.py OUT_DIR  # writes into OUT_DIR

An organisation that wants its own logo replaces the two PNGs (keeping the sizes and the
white-on-transparent rule for the outline); ``bot/packaging.py`` checks the sizes.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

#: The accent colour, shared with the Teams manifest ``accentColor`` and the Slack
#: ``background_color``: a dark blue that keeps white text readable (contrast about 7:1).
ACCENT = (0x1F, 0x5C, 0x99)
WHITE = (0xFF, 0xFF, 0xFF)

SUPERSAMPLE = 4  # 4 x 4 samples a pixel: smooth edges without any imaging library

Pixel = tuple[int, int, int, int]


def _shield_half_width(v: float) -> float:
    """Half the shield's width at height ``v`` (0 top, 1 bottom), or -1 outside it."""
    top, shoulder, point = 0.12, 0.50, 0.92
    half = 0.34
    if v < top or v > point:
        return -1.0
    if v <= shoulder:
        return half
    t = (v - shoulder) / (point - shoulder)  # 0 at the shoulder, 1 at the point
    return half * math.cos(t * math.pi / 2) ** 0.75


def _in_shield(u: float, v: float) -> bool:
    """Whether the point (u, v) of the unit square lies inside the shield."""
    # The top edge dips gently towards the middle, like a heater shield.
    dip = 0.04 * (1 - ((u - 0.5) / 0.34) ** 2)
    if v < 0.12 + max(dip, 0.0):
        return False
    half = _shield_half_width(v)
    return half >= 0 and abs(u - 0.5) <= half


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from point P to the segment AB."""
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


_TICK = ((0.33, 0.48), (0.45, 0.62), (0.68, 0.36))


def _in_tick(u: float, v: float, thickness: float) -> bool:
    """Whether (u, v) lies on the tick drawn inside the shield."""
    (ax, ay), (bx, by), (cx, cy) = _TICK
    return (
        min(_segment_distance(u, v, ax, ay, bx, by), _segment_distance(u, v, bx, by, cx, cy))
        <= thickness / 2
    )


def _render(size: int, shade: Callable[[float, float], Pixel | None], bg: Pixel) -> list[Pixel]:
    """Supersample ``shade`` over a ``size`` x ``size`` grid, compositing onto ``bg``."""
    pixels: list[Pixel] = []
    n = SUPERSAMPLE
    for y in range(size):
        for x in range(size):
            r = g = b = a = 0.0
            for sy in range(n):
                for sx in range(n):
                    u = (x + (sx + 0.5) / n) / size
                    v = (y + (sy + 0.5) / n) / size
                    colour = shade(u, v) or bg
                    alpha = colour[3] / 255
                    r += colour[0] * alpha
                    g += colour[1] * alpha
                    b += colour[2] * alpha
                    a += alpha
            count = n * n
            if a == 0:
                pixels.append((bg[0], bg[1], bg[2], 0))
                continue
            # Un-premultiply so partly covered edge pixels keep their true colour.
            pixels.append((round(r / a), round(g / a), round(b / a), round(255 * a / count)))
    return pixels


def encode_png(width: int, height: int, pixels: list[Pixel]) -> bytes:
    """Encode RGBA pixels (row by row) as a PNG: 8 bits a channel, no interlace."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type 0 (None) for every row
        for r, g, b, a in pixels[y * width : (y + 1) * width]:
            raw += bytes((r, g, b, a))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def color_icon() -> bytes:
    """The 192 x 192 full-colour icon."""
    accent: Pixel = (*ACCENT, 255)
    white: Pixel = (*WHITE, 255)

    def shade(u: float, v: float) -> Pixel | None:
        if _in_shield(u, v):
            return accent if _in_tick(u, v, 0.075) else white
        return None

    return encode_png(192, 192, _render(192, shade, accent))


def outline_icon() -> bytes:
    """The 32 x 32 outline icon: white shield, tick cut out, transparent elsewhere."""
    white: Pixel = (*WHITE, 255)
    clear: Pixel = (*WHITE, 0)  # transparent white, so edge pixels stay pure white

    def shade(u: float, v: float) -> Pixel | None:
        if _in_shield(u, v) and not _in_tick(u, v, 0.10):
            return white
        return None

    return encode_png(32, 32, _render(32, shade, clear))


def main(argv: list[str]) -> int:
    """Write ``color.png`` and ``outline.png`` into the given folder (default: here)."""
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "color.png").write_bytes(color_icon())
    (out / "outline.png").write_bytes(outline_icon())
    print(f"wrote {out / 'color.png'} and {out / 'outline.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
