"""Read a product catalog (CSV ``id,title,description,brand,category``, JSONL or JSON) into
validated :class:`ProductRow` s; errors name the row and field (see ``usecases.tables``)."""

from __future__ import annotations

from pathlib import Path

from labrun.shared.usecases.assign_cat.schemas import ProductRow
from labrun.shared.usecases.tables import Format, read_rows

COLUMNS = ("id", "title", "description", "brand", "category")


def read_catalog(
    data: bytes | str | Path, fmt: Format | None = None, *, filename: str | None = None
) -> list[ProductRow]:
    return read_rows(
        data,
        fmt,
        filename=filename,
        model=ProductRow,
        optional=("id", "category"),
        columns=COLUMNS,
        required=("title",),
    )
