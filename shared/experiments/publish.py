"""After a sweep: its full results under ``<base_path>/<name>/results/<sweep>/`` (each cell's run
directory with its per-row records as ``predictions.jsonl``, metrics.json, metadata.json) and the
summary in the repository (results/metrics.json, latest-run.txt, README)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from labrun.shared.experiments import results, scaffold
from labrun.shared.experiments.load import Experiment
from labrun.shared.experiments.summary import CellSummary


def base_path(exp: Experiment) -> str:
    """The spec's ``results.base_path``, else ``<artifacts location>/experiments``."""
    if exp.spec.results.base_path:
        return exp.spec.results.base_path
    from labrun.shared.core.config import get_settings

    return get_settings().artifacts_location().rstrip("/") + "/experiments"


def summary(exp: Experiment, sweep: str, version: str | None, cells: list[CellSummary]) -> dict[str, Any]:
    return {
        "experiment": exp.spec.name,
        "sweep": sweep,
        "version": version,
        "use_case": exp.spec.use_case,
        "cells": [{**c.as_dict(), "label": c.cell, "ci": list(c.ci) if c.ci else None} for c in cells],
    }


def publish(root: Path, exp: Experiment, sweep: str, version: str | None, cells: list[CellSummary]) -> str:
    """Write the full results and the repository summary; returns the full results' URL."""
    from labrun.shared.runs.export import export_run

    data = summary(exp, sweep, version, cells)
    meta = {
        "experiment": exp.spec.name,
        "file": exp.file,
        "version": version,
        "sweep": sweep,
        "spec": exp.text,
    }
    with tempfile.TemporaryDirectory(prefix="labrun-exp-") as tmp:
        files: dict[str, bytes | str | Path] = {
            "metrics.json": json.dumps(data, indent=2, default=str),
            "metadata.json": json.dumps(meta, indent=2, default=str),
        }
        for c in cells:  # the run directory, with the per-row records and metrics as JSONL
            files[f"runs/{c.run_id}"] = export_run(c.run_id, Path(tmp), tables="jsonl")
        url = results.write_full_results(base_path(exp), exp.spec.name, files, run=sweep, root=root)
    if exp.directory.resolve().is_relative_to(root.resolve()):
        scaffold.record_results(root, exp.spec.name, data, url)
    return url
