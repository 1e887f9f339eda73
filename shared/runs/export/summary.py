"""``metadata/run_summary.json`` and the optional ``raw/`` copy of the provider responses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.export.common import REDACTED, Export
from labrun.shared.runs.queries import get_metrics
from labrun.shared.storage.artifacts import ArtifactStore, raw_prefix

SUMMARY = "metadata/run_summary.json"


def copy_raw(ex: Export, store: ArtifactStore) -> int:
    """Copy every object under ``runs/<run_id>/raw/`` to ``raw/`` (secret values masked)."""
    prefix = raw_prefix(ex.run.id)
    dest = (ex.root / "raw").resolve()
    dest.mkdir(parents=True, exist_ok=True)
    needles = [(s.encode(), REDACTED.encode()) for s in ex.secrets]
    n = 0
    for key in store.keys(prefix):
        rel = key[len(prefix) :] if key.startswith(prefix) else key.rsplit("/", 1)[-1]
        target = (dest / rel).resolve()
        if not rel or not target.is_relative_to(dest) or target == dest:
            raise ValueError(f"raw object key escapes the export directory: {key!r}")
        data = store.get(key)
        for needle, mask in needles:
            data = data.replace(needle, mask)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        n += 1
    return n


def summary_data(ex: Export, about: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """Everything the summary needs from the database (read inside the export's transaction)."""
    run = ex.run
    metrics = [m.model_dump(mode="json") for m in get_metrics(ex.session, run.id)]
    overall = next((m for m in metrics if m["segment"] == "all"), None)
    usage = outputs["usage"]
    by_status = {k: v["n"] for k, v in usage["by_status"].items()}
    counts = {
        "total": run.n_total,
        "succeeded": by_status.pop(PredictionStatus.SUCCEEDED, 0),
        "failed": by_status.pop(PredictionStatus.FAILED, 0),
        "missing": by_status.pop("missing", 0),
        **by_status,  # any other status, should one ever appear
    }
    return {
        "run_id": run.id,
        "status": run.status,
        "experiment": about.get("experiment"),
        "dataset": about.get("dataset"),
        "use_case": run.use_case,
        "model_alias": run.model_alias,
        "error": run.error,
        "counts": counts,
        "accuracy": overall["accuracy"] if overall else None,
        "coverage": overall["coverage"] if overall else None,
        "metrics_computed": bool(metrics),
        "cost_usd": usage["totals"]["cost_usd"],
        "tokens": {k: usage["totals"][k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
        "wall_seconds": outputs["timing"]["wall_seconds"],
        "throughput_per_s": outputs["timing"]["throughput_per_s"],
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "metrics": metrics,
    }


def write_summary(ex: Export, data: dict[str, Any], n_raw: int | None) -> Path:
    """Written last: it lists every file of the export (``raw/`` objects only counted)."""
    ex.path(SUMMARY)
    summary = {
        **data,
        "exported_at": datetime.now(UTC),
        "raw": {"included": n_raw is not None, "objects": n_raw or 0, "prefix": raw_prefix(ex.run.id)},
        "files": sorted(ex.files),
    }
    ex.write_json(SUMMARY, summary)
    return ex.root / SUMMARY
