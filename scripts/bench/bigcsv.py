"""A big catalog CSV (``id,title,description,brand,category``) made by cycling through source
catalogs, with unique ids; written once to a temp file and reused."""

from __future__ import annotations

import csv
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

FIELDS = ["id", "title", "description", "brand", "category"]


def default_path(rows: int, prefix: str) -> Path:
    return Path(tempfile.gettempdir()) / f"labrun-bench-catalog-{prefix}{rows}.csv"


def _rows(sources: list[Path]) -> Iterator[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    for src in sources:
        with src.open(newline="", encoding="utf-8-sig") as f:
            yield from csv.DictReader(f)


def build(sources: list[Path], rows: int, out: Path, prefix: str = "") -> Path:
    """``rows`` rows cycling through ``sources`` (each cycle re-reads them); ids ``{prefix}{i}-{id}``."""
    if out.exists():
        return out
    if not sources:
        raise SystemExit(f"{out} does not exist: give --source CSV files to build it from")
    tmp = out.with_suffix(".part")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        cycle = itertools.chain.from_iterable(_rows(sources) for _ in itertools.count())
        for i, row in enumerate(itertools.islice(cycle, rows)):
            w.writerow({k: (row.get(k) or "") for k in FIELDS} | {"id": f"{prefix}{i:06d}-{row['id']}"})
    tmp.rename(out)
    return out
