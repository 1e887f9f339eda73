"""``inputs/``: the products classified, the taxonomy offered, the prompt templates used."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, select

from shared.assign_cat.prompt import placeholders
from shared.db.models import Datapoint, Run
from shared.export.common import YIELD_PER, Export


def run_datapoints(run: Run, *columns: Any) -> Select[Any]:
    """``columns`` of the run's datapoints in dataset order: the first ``n_total`` of its dataset,
    as dispatched."""
    return (
        select(*columns)
        .where(Datapoint.dataset_id == run.dataset_id)
        .order_by(Datapoint.position)
        .limit(run.n_total)
    )


def write_products(ex: Export) -> int:
    """``inputs/products.json``: a JSON list written row by row from a server-side cursor."""
    stmt = run_datapoints(ex.run, Datapoint.external_id, Datapoint.inputs, Datapoint.expected)
    n = 0
    with ex.path("inputs/products.json").open("w", encoding="utf-8") as f:
        f.write("[")
        for ext, inputs, expected in ex.session.execute(stmt.execution_options(yield_per=YIELD_PER)):
            item = {
                "id": ext,
                "title": inputs.get("title", ""),
                "description": inputs.get("description", ""),
                "brand": inputs.get("brand", ""),
                "category": expected,
            }
            item = {k: ex.scrub(v) if isinstance(v, str) else v for k, v in item.items()}
            f.write(",\n  " if n else "\n  ")
            f.write(json.dumps(item, ensure_ascii=False))
            n += 1
        f.write("\n]\n" if n else "]\n")
    return n


def write_taxonomy(ex: Export) -> int:
    """``inputs/taxonomy.txt`` in Google's ``ID - A > B`` format (ids 1..N), readable by
    ``Taxonomy.from_google_text`` (the ``#`` header is a comment)."""
    tax = ex.run.config.get("taxonomy") or {}
    paths: list[str] = list(tax.get("paths") or [])
    with ex.path("inputs/taxonomy.txt").open("w", encoding="utf-8") as f:
        f.write(ex.scrub(f"# labrun taxonomy of run {ex.run.id}\n"))
        f.write(ex.scrub(f"# source: {tax.get('source')}\n"))
        f.write(f"# sha256: {tax.get('sha256')}\n")
        f.write(f"# paths: {len(paths)}\n")
        for i, path in enumerate(paths, 1):
            f.write(ex.scrub(f"{i} - {path}\n"))
    return len(paths)


def write_prompt(ex: Export) -> None:
    """``inputs/prompt_templates.json``: the templates, max_candidates and the variables they use."""
    prompt = ex.run.config.get("prompt") or {}
    system, user = prompt.get("system") or "", prompt.get("user") or ""
    ex.write_json(
        "inputs/prompt_templates.json",
        {
            "system": system,
            "user": user,
            "max_candidates": prompt.get("max_candidates"),
            "variables": sorted(placeholders(system) | placeholders(user)),
        },
    )


def write_inputs(ex: Export) -> dict[str, int]:
    n_products = write_products(ex)
    n_paths = write_taxonomy(ex)
    write_prompt(ex)
    return {"products": n_products, "taxonomy_paths": n_paths}
