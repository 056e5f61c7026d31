"""Helpers for the manifest tests: where things are, schema errors, a tiny PNG reader."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = REPO_ROOT.parent / "shared" / "schemas"
MANIFESTS_DIR = REPO_ROOT / "manifests"


def load_schema(path: Path) -> Any:
    """Read an official schema, skipping the test (with the reason) when it is not there."""
    if not SCHEMAS_DIR.is_dir():
        pytest.skip(
            f"official schemas not available: {SCHEMAS_DIR} is absent (the tests read them "
            "from ../shared/schemas next to the repository and never copy them in)"
        )
    if not path.is_file():
        pytest.skip(f"official schema file not available: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def schema_errors(validator: Draft7Validator, instance: Any) -> list[str]:
    """Every validation error as ``path: message``, for readable assertion failures."""
    errors = sorted(
        validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


def png_header(data: bytes) -> tuple[int, int, int, int, int]:
    """``(width, height, bit_depth, colour_type, interlace)`` from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, "IHDR is not the first chunk"
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", data[16:29]
    )
    return width, height, depth, colour, interlace


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_rgba(data: bytes) -> list[tuple[int, int, int, int]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG into RGBA pixels, row by row.

    Handles all five row filters, so a PNG saved by an image editor decodes too. Other PNG
    flavours skip the calling test: only the pixel checks need this.
    """
    width, height, depth, colour, interlace = png_header(data)
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        pytest.skip(f"pixel check supports 8-bit RGB/RGBA PNGs only (got {depth=}, {colour=})")
    channels = 4 if colour == 6 else 3
    idat = bytearray()
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int, int]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind_byte = raw[start]
        row = bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            predictor = (0, left, up, (left + up) // 2, _paeth(left, up, up_left))[kind_byte]
            row[i] = (row[i] + predictor) & 0xFF
        for x in range(width):
            px = row[x * channels : (x + 1) * channels]
            pixels.append((px[0], px[1], px[2], px[3] if channels == 4 else 255))
        previous = row
    return pixels
