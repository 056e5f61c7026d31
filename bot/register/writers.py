"""Writing register rows one at a time: CSV with a header, or a streamed JSON array.

Nothing is collected: each row is written as it comes, so a writer's memory does not grow
with the number of rows. CSV cells that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with a single
quote, since people type what they like into a report and the file will be opened in Excel.
"""

from __future__ import annotations

import csv
import json
from typing import Any, Protocol, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as text, never runs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class RowWriter(Protocol):
    """Writes rows to a text stream: header, rows, then close."""

    def write(self, row: dict[str, Any]) -> None:
        """Write one row."""

    def close(self) -> None:
        """Finish the output (the stream itself is the caller's to close)."""


class CsvRows:
    """CSV with one header line of the given columns."""

    def __init__(self, out: TextIO, columns: list[str]) -> None:
        self._columns = columns
        self._writer = csv.writer(out, lineterminator="\r\n")
        self._writer.writerow(columns)

    def write(self, row: dict[str, Any]) -> None:
        """Write one row, every cell made safe."""
        self._writer.writerow([safe_cell(row.get(column)) for column in self._columns])

    def close(self) -> None:
        """Nothing to finish: CSV has no footer."""


class JsonRows:
    """A JSON array written as ``[``, the items separated by commas, then ``]``."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._first = True
        out.write("[")

    def write(self, row: dict[str, Any]) -> None:
        """Write one item."""
        self._out.write("\n" if self._first else ",\n")
        self._out.write(json.dumps(row, ensure_ascii=False))
        self._first = False

    def close(self) -> None:
        """Close the array."""
        self._out.write("\n]\n")


def writer_for(fmt: str, out: TextIO, columns: list[str]) -> RowWriter:
    """The writer for ``"csv"`` or ``"json"``.

    Raises:
        ValueError: for any other format.
    """
    if fmt == "csv":
        return CsvRows(out, columns)
    if fmt == "json":
        return JsonRows(out)
    raise ValueError(f"unknown register format {fmt!r}; use csv or json")
