"""An experiment (or one version of it) as run requests: one ``RunCreate`` per sweep cell, every
cell over the same rows, each carrying where it comes from (name, version, cell, spec)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from labrun.shared.core.schemas import PromptSpec, RunCreate
from labrun.shared.experiments.datasets import read_rows
from labrun.shared.experiments.load import Experiment
from labrun.shared.experiments.matrix import Cell
from labrun.shared.experiments.spec import dump


@dataclass(frozen=True)
class CellRequest:
    cell: Cell
    request: RunCreate


def spec_hash(exp: Experiment) -> str:
    """A short fingerprint of the resolved spec (template files included)."""
    data = json.dumps(dump(exp.spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def cell_requests(
    exp: Experiment,
    *,
    version: str | None = None,
    sweep: str | None = None,
    max_cost_usd: float | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> list[CellRequest]:
    """One request per cell; ``sweep`` names this submission (its cells run together).
    ``max_cost_usd`` is the whole sweep's budget, split equally between the cells (each run
    enforces its share across all workers)."""
    cells = exp.cells()
    rows = read_rows(exp) if rows is None else rows
    share = max_cost_usd / len(cells) if max_cost_usd else None
    fingerprint = spec_hash(exp)
    out = []
    for cell in cells:
        spec = cell.spec
        info = {
            "version": version,
            "sweep": sweep,
            "cell": cell.label,
            "values": cell.values,
            "spec_sha": fingerprint,
            "file": exp.file,
            "spec": dump(cell.spec),
        }
        req = RunCreate(
            use_case=spec.use_case,
            model=spec.model,
            rows=rows,
            options=cell.run_options(),
            prompt=PromptSpec(system=spec.prompt.system, user=spec.prompt.user),
            experiment=spec.name,
            experiment_info=info,
            dataset_name=spec.dataset.path.rsplit("/", 1)[-1],
            max_tokens=spec.params.max_tokens,
            temperature=spec.params.temperature,
            seed=spec.params.seed,
            max_cost_usd=share,
        )
        out.append(CellRequest(cell, req))
    return out
