"""An experiment's runs in the database, and each sweep cell's headline figures ranked: accuracy
with its 95% Wilson interval and coverage, cost, latency."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labrun.shared.analysis.stats import wilson
from labrun.shared.storage.db.models import Experiment, Metric, Run


@dataclass(frozen=True)
class CellSummary:
    cell: str
    run_id: str
    model: str
    status: str
    version: str | None
    n: int
    coverage: float | None
    accuracy: float | None
    ci: tuple[float, float] | None
    cost_usd: float
    latency_p50_ms: float | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


def n_scored(m: Metric) -> int:
    """Rows with a verdict: accuracy is n_correct over them (every valid row when labels exist)."""
    if m.accuracy is None:
        return 0
    return round(m.n_correct / m.accuracy) if m.accuracy > 0 else m.n_valid


def experiment_runs(session: Session, name: str, limit: int = 200) -> list[Run]:
    """The experiment's runs, newest first."""
    q = (
        select(Run)
        .join(Experiment, Experiment.id == Run.experiment_id)
        .where(Experiment.name == name)
        .order_by(Run.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(q))


def info(run: Run) -> dict[str, Any]:
    return dict((run.config or {}).get("experiment") or {})


def summarize(session: Session, runs: list[Run]) -> list[CellSummary]:
    """One line per run, the best accuracy first (runs without an accuracy last)."""
    ids = [r.id for r in runs]
    metrics = {
        m.run_id: m
        for m in session.scalars(select(Metric).where(Metric.run_id.in_(ids), Metric.segment == "all"))
    }
    out = []
    for run in runs:
        m = metrics.get(run.id)
        ci = wilson(m.n_correct, n_scored(m)) if m is not None else None
        meta = info(run)
        out.append(
            CellSummary(
                cell=str(meta.get("cell") or f"model={run.model_alias}"),
                run_id=run.id,
                model=run.model_alias,
                status=run.status,
                version=meta.get("version"),
                n=run.n_total,
                coverage=m.coverage if m else None,
                accuracy=m.accuracy if m else None,
                ci=(ci.low, ci.high) if ci else None,
                cost_usd=float(run.cost_usd or 0),
                latency_p50_ms=m.latency_p50_ms if m else None,
                created_at=run.created_at,
            )
        )
    return sorted(out, key=lambda c: (c.accuracy is None, -(c.accuracy or 0.0), c.cost_usd))


def latest_sweep(runs: list[Run]) -> list[Run]:
    """The runs of the newest sweep: those sharing the newest run's sweep id."""
    if not runs:
        return []
    sweep = info(runs[0]).get("sweep")
    return [r for r in runs if sweep and info(r).get("sweep") == sweep] or runs[:1]
