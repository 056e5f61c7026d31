"""Writing register rows one at a time: CSV with a header, or a streamed JSON array.

Nothing is collected: each row is written as it comes, so a writer's memory does not grow
with the number of rows. CSV cells that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with a single
quote, since people type what they like into a report and the file will be opened in Excel.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as text, never runs."""
    if value.__class__ is str:  # most cells; a str subclass may print otherwise, see below
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class RowWriter(Protocol):
    """Writes rows to a text stream: header, rows, then close.

    A row is its values in the order of the writer's columns.
    """

    def write(self, values: Sequence[Any]) -> None:
        """Write one row."""

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write rows in order (a page at a time costs less than one by one)."""

    def close(self) -> None:
        """Finish the output (the stream itself is the caller's to close)."""


class CsvRows:
    """CSV with one header line of the given columns."""

    def __init__(self, out: TextIO, columns: list[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")
        self._writer.writerow(columns)

    def write(self, values: Sequence[Any]) -> None:
        """Write one row, every cell made safe."""
        self._writer.writerow(map(safe_cell, values))

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write rows in order, every cell made safe."""
        self._writer.writerows([map(safe_cell, values) for values in rows])

    def close(self) -> None:
        """Nothing to finish: CSV has no footer."""


class JsonRows:
    """A JSON array written as ``[``, the items separated by commas, then ``]``."""

    def __init__(self, out: TextIO, columns: list[str]) -> None:
        self._out = out
        self._columns = columns
        self._first = True
        out.write("[")

    def write(self, values: Sequence[Any]) -> None:
        """Write one item: an object with the columns as keys."""
        item = dict(zip(self._columns, values, strict=True))
        self._out.write("\n" if self._first else ",\n")
        self._out.write(json.dumps(item, ensure_ascii=False))
        self._first = False

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write items in order."""
        for values in rows:
            self.write(values)

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
        return JsonRows(out, columns)
    raise ValueError(f"unknown register format {fmt!r}; use csv or json")
