"""Assign-cat's part of the run directory: ``inputs/products.json`` and ``inputs/taxonomy.txt``."""

from __future__ import annotations

import json

from labrun.shared.usecases.base import ExportSink


def write_products(sink: ExportSink) -> int:
    """``inputs/products.json``: a JSON list written row by row from a server-side cursor."""
    n = 0
    with sink.path("inputs/products.json").open("w", encoding="utf-8") as f:
        f.write("[")
        for ext, inputs, expected in sink.datapoints():
            item = {
                "id": ext,
                "title": inputs.get("title", ""),
                "description": inputs.get("description", ""),
                "brand": inputs.get("brand", ""),
                "category": expected,
            }
            item = {k: sink.scrub(v) if isinstance(v, str) else v for k, v in item.items()}
            f.write(",\n  " if n else "\n  ")
            f.write(json.dumps(item, ensure_ascii=False))
            n += 1
        f.write("\n]\n" if n else "]\n")
    return n


def write_taxonomy(sink: ExportSink) -> int:
    """``inputs/taxonomy.txt`` in Google's ``ID - A > B`` format (ids 1..N), readable by
    ``Taxonomy.from_google_text`` (the ``#`` header is a comment)."""
    tax = sink.config.get("taxonomy") or {}
    paths: list[str] = list(tax.get("paths") or [])
    with sink.path("inputs/taxonomy.txt").open("w", encoding="utf-8") as f:
        f.write(sink.scrub(f"# labrun taxonomy of run {sink.run_id}\n"))
        f.write(sink.scrub(f"# source: {tax.get('source')}\n"))
        f.write(f"# sha256: {tax.get('sha256')}\n")
        f.write(f"# paths: {len(paths)}\n")
        for i, path in enumerate(paths, 1):
            f.write(sink.scrub(f"{i} - {path}\n"))
    return len(paths)


def write_inputs(sink: ExportSink) -> dict[str, int]:
    return {"products": write_products(sink), "taxonomy_paths": write_taxonomy(sink)}
