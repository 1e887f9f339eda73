"""The file formats of a table: CSV (delimiter sniffed, header row), JSON Lines, a JSON list.

Each yields ``(row number, record)``: CSV data row 1 is the first row after the header, JSON
Lines row N is line N, JSON row N is the N-th element. A record that cannot be read is a
:class:`Bad` carrying the reason; a file that cannot be read at all raises ``CatalogError``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from labrun.shared.usecases.errors import CatalogError, RowIssue, fail

Format = Literal["csv", "jsonl", "json"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise fail(f"not valid UTF-8: byte 0x{data[e.start]:02x} at offset {e.start} (line {line})") from None


def detect(text: str, filename: str | None) -> Format:
    if filename:
        fmt = _SUFFIXES.get(Path(filename).suffix.lower())
        if fmt:
            return fmt
    start = text.lstrip()[:1]
    return "json" if start == "[" else "jsonl" if start == "{" else "csv"


@dataclass(frozen=True)
class Bad:
    """A record that could not be read at all."""

    message: str


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their ends, split as ``io.StringIO(text, newline="")`` splits them,
    without its copy of the whole text (4 bytes a character)."""
    return (m.group() for m in _LINE.finditer(text))


def csv_records(
    text: str, columns: tuple[str, ...] | None, required: tuple[str, ...]
) -> Iterator[tuple[int, Any]]:
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = max(",;\t", key=first_line.count)
    # strict: a quote never closed is an error, not the rest of the file read as one value
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise fail("the file is empty") from None
    except csv.Error as e:
        raise CatalogError([RowIssue(0, "", f"unreadable CSV header: {_why(e)}")]) from None
    for name in required:
        if name not in header:
            found = ", ".join(repr(h) for h in header) or "none"
            raise fail(f"missing required column {name!r}; columns found: {found}", name)
    known = columns if columns is not None else tuple(h for h in header if h)
    dupes = sorted({h for h in header if h in known and header.count(h) > 1})
    if dupes:
        raise fail(f"column(s) {', '.join(dupes)} appear more than once in the header")
    position = {name: header.index(name) for name in known if name in header}
    row = 0
    try:
        for row, cells in enumerate(reader, 1):
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(cells) > len(header):
                message = f"{len(cells)} values but the header has {len(header)} columns"
                yield row, Bad(message)
                continue
            yield row, {name: cells[i] for name, i in position.items() if i < len(cells)}
    except csv.Error as e:
        raise CatalogError([RowIssue(row + 1, "", f"unreadable CSV: {_why(e)}")]) from None


def _why(e: csv.Error) -> str:
    if "unexpected end of data" in str(e):
        return "a quoted value opened in this row is never closed (the rest of the file would be one value)"
    return str(e)


def json_records(text: str, fmt: Format) -> Iterator[tuple[int, Any]]:
    if fmt == "jsonl":
        for row, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield row, json.loads(line)
                except ValueError as e:
                    yield row, Bad(f"invalid JSON: {e}")
        return
    try:
        data = json.loads(text)
    except ValueError as e:
        raise fail(f"invalid JSON: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if not isinstance(data, list):
        raise fail(f"expected a JSON list of objects, got {type(data).__name__}")
    yield from enumerate(data, 1)
