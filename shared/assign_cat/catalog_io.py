"""Read an uploaded catalog (CSV, JSON Lines or a JSON list) into validated :class:`ProductRow` s.

All problems are collected and raised together as one :class:`CatalogError`; nothing partial is
returned. Row numbers are those a user sees: CSV data row 1 is the first row after the header, JSON
Lines row N is line N, JSON row N is the N-th element of the list.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from shared.schemas import ProductRow

Format = Literal["csv", "jsonl", "json"]
COLUMNS = ("id", "title", "description", "brand", "category")
MAX_LISTED = 20
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


@dataclass(frozen=True)
class RowIssue:
    row: int  # 0 = the file as a whole (encoding, header, format)
    field: str
    message: str

    def __str__(self) -> str:
        where = "file" if self.row == 0 else f"row {self.row}"
        return f"{where}, field {self.field!r}: {self.message}" if self.field else f"{where}: {self.message}"


class CatalogError(ValueError):
    def __init__(self, errors: list[RowIssue]) -> None:
        self.errors = errors
        lines = [str(issue) for issue in errors[:MAX_LISTED]]
        if len(errors) > MAX_LISTED:
            lines.append(f"... and {len(errors) - MAX_LISTED} more")
        super().__init__(f"invalid catalog ({len(errors)} problem(s)):\n" + "\n".join(lines))


def _fail(message: str, field: str = "") -> CatalogError:
    return CatalogError([RowIssue(0, field, message)])


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise _fail(
            f"not valid UTF-8: byte 0x{data[e.start]:02x} at offset {e.start} (line {line})"
        ) from None


def _detect(text: str, filename: str | None) -> Format:
    if filename:
        fmt = _SUFFIXES.get(Path(filename).suffix.lower())
        if fmt:
            return fmt
    start = text.lstrip()[:1]
    return "json" if start == "[" else "jsonl" if start == "{" else "csv"


@dataclass(frozen=True)
class _Bad:
    """A record that could not be read at all."""

    message: str


def _csv_records(text: str) -> Iterator[tuple[int, Any]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise _fail("the file is empty") from None
    if "title" not in header:
        found = ", ".join(repr(h) for h in header) or "none"
        raise _fail(f"missing required column 'title'; columns found: {found}", "title")
    dupes = sorted({h for h in header if h in COLUMNS and header.count(h) > 1})
    if dupes:
        raise _fail(f"column(s) {', '.join(dupes)} appear more than once in the header")
    position = {name: header.index(name) for name in COLUMNS if name in header}
    row = 0
    try:
        for row, cells in enumerate(reader, 1):
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(cells) > len(header):
                message = f"{len(cells)} values but the header has {len(header)} columns"
                yield row, _Bad(message)
                continue
            yield row, {name: cells[i] for name, i in position.items() if i < len(cells)}
    except csv.Error as e:
        raise CatalogError([RowIssue(row + 1, "", f"unreadable CSV: {e}")]) from None


def _json_records(text: str, fmt: Format) -> Iterator[tuple[int, Any]]:
    if fmt == "jsonl":
        for row, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield row, json.loads(line)
                except ValueError as e:
                    yield row, _Bad(f"invalid JSON: {e}")
        return
    try:
        data = json.loads(text)
    except ValueError as e:
        raise _fail(f"invalid JSON: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if not isinstance(data, list):
        raise _fail(f"expected a JSON list of objects, got {type(data).__name__}")
    yield from enumerate(data, 1)


def _validate(row: int, record: Any, issues: list[RowIssue]) -> ProductRow | None:
    if isinstance(record, _Bad):
        issues.append(RowIssue(row, "", record.message))
        return None
    if not isinstance(record, dict):
        issues.append(RowIssue(row, "", f"expected an object, got {type(record).__name__}"))
        return None
    blank = {k for k in ("id", "category") if record.get(k) is None or str(record[k]).strip() == ""}
    record = {k: v for k, v in record.items() if k not in blank}
    record.setdefault("id", str(row))
    try:
        return ProductRow.model_validate(record)
    except ValidationError as e:
        for err in e.errors():
            field = ".".join(str(part) for part in err["loc"])
            issues.append(RowIssue(row, field, err["msg"]))
        return None


def read_catalog(
    data: bytes | str | Path, fmt: Format | None = None, *, filename: str | None = None
) -> list[ProductRow]:
    """Rows of a catalog given as bytes, text or a file path; raises :class:`CatalogError`."""
    if isinstance(data, Path):
        filename = filename or data.name
        data = data.read_bytes()
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if not text.strip():
        raise _fail("the file is empty")
    fmt = fmt or _detect(text, filename)
    records = _csv_records(text) if fmt == "csv" else _json_records(text, fmt)
    issues: list[RowIssue] = []
    rows: list[ProductRow] = []
    first_row_of: dict[str, int] = {}
    for row, record in records:
        product = _validate(row, record, issues)
        if product is None:
            continue
        key = product.id or str(row)
        if key in first_row_of:
            message = f"duplicate id {key!r} (first used on row {first_row_of[key]})"
            issues.append(RowIssue(row, "id", message))
        else:
            first_row_of[key] = row
        rows.append(product)
    if issues:
        raise CatalogError(issues)
    if not rows:
        raise _fail("the catalog has no data rows")
    return rows
