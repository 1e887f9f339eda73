"""Read a table of datapoints (CSV, JSON Lines or a JSON list) into validated rows, for every
use case: a pydantic row model per use case (or plain dicts of text), ids checked for duplicates.

All problems are collected and raised together as one :class:`CatalogError`; nothing partial is
returned. Row numbers are those a user sees: CSV data row 1 is the first row after the header, JSON
Lines row N is line N, JSON row N is the N-th element of the list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from labrun.shared.usecases.errors import CatalogError, RowIssue, fail
from labrun.shared.usecases.table_formats import Bad, Format, csv_records, decode, detect, json_records

__all__ = ["CatalogError", "Format", "RowIssue", "read_rows"]


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _validate(
    row: int, record: Any, issues: list[RowIssue], model: type[BaseModel] | None, optional: tuple[str, ...]
) -> Any:
    if isinstance(record, Bad):
        issues.append(RowIssue(row, "", record.message))
        return None
    if not isinstance(record, dict):
        issues.append(RowIssue(row, "", f"expected an object, got {type(record).__name__}"))
        return None
    blank = {k for k in optional if record.get(k) is None or str(record[k]).strip() == ""}
    record = {k: v for k, v in record.items() if k not in blank}
    record.setdefault("id", str(row))
    if model is None:
        return {
            str(k): "" if v is None else v if isinstance(v, str) else json.dumps(v) for k, v in record.items()
        }
    try:
        return model.model_validate(record)
    except ValidationError as e:
        for err in e.errors():
            field = ".".join(str(part) for part in err["loc"])
            issues.append(RowIssue(row, field, err["msg"]))
        return None


def read_rows(
    data: bytes | str | Path,
    fmt: Format | None = None,
    *,
    filename: str | None = None,
    model: type[BaseModel] | None = None,
    optional: tuple[str, ...] = ("id",),
    columns: tuple[str, ...] | None = None,
    required: tuple[str, ...] = (),
) -> list[Any]:
    """Rows of a table given as bytes, text or a file path; raises :class:`CatalogError`.

    Each record is validated with ``model`` (or kept as a dict of strings when None); the
    ``optional`` fields are dropped when blank; a missing id is the row number. A CSV keeps the
    ``columns`` named (all when None) and must have the ``required`` ones."""
    if isinstance(data, Path):
        filename = filename or data.name
        data = data.read_bytes()
    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if not text or text.isspace():  # not strip(): a copy of the whole text
        raise fail("the file is empty")
    fmt = fmt or detect(text, filename)
    records = csv_records(text, columns, required) if fmt == "csv" else json_records(text, fmt)
    issues: list[RowIssue] = []
    rows: list[Any] = []
    first_row_of: dict[str, int] = {}
    for row, record in records:
        product = _validate(row, record, issues, model, optional)
        if product is None:
            continue
        key = (product.get("id") if isinstance(product, dict) else getattr(product, "id", None)) or str(row)
        if key in first_row_of:
            message = f"duplicate id {key!r} (first used on row {first_row_of[key]})"
            issues.append(RowIssue(row, "id", message))
        else:
            first_row_of[key] = row
        rows.append(product)
    if issues:
        raise CatalogError(issues)
    if not rows:
        raise fail("the catalog has no data rows")
    return rows
