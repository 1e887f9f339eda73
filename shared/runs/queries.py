"""Read models for the API and the CLI: runs with live progress, predictions, metrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from labrun.shared.core.errors import NotFound
from labrun.shared.core.schemas import MetricOut, PredictionOut, PredictionPage, RunCounts, RunOut
from labrun.shared.runs import progress
from labrun.shared.runs.lifecycle import RunStatus
from labrun.shared.storage.db.models import Datapoint, Experiment, Metric, Prediction, Run


def run_out(session: Session, run: Run) -> RunOut:
    """A run with its live progress: a running run's counters from Redis (O(1), shared/runs/
    progress.py) when they are trusted, else (and for every final run) aggregated from its rows."""
    p = _live(run) if run.status == RunStatus.RUNNING else None
    if p is None:
        p = progress.from_rows(session, run.id)
    n, n_ok, cost, first, last, errors = p.done, p.ok, p.cost_usd, p.first, p.last, p.errors
    rate = eta = None
    if n and first and last and last > first:
        rate = n / (last - first).total_seconds()
        if run.status == RunStatus.RUNNING:
            eta = (run.n_total - n) / rate
    experiment = session.scalar(select(Experiment.name).where(Experiment.id == run.experiment_id))
    return RunOut(
        id=run.id,
        experiment=experiment,
        use_case=run.use_case,
        model_alias=run.model_alias,
        status=run.status,
        final=RunStatus(run.status).final,
        counts=RunCounts(total=run.n_total, done=n, succeeded=n_ok, failed=n - n_ok, pending=run.n_total - n),
        # no datapoints yet (a large upload still being read, D34): nothing done, unless it ended
        progress=n / run.n_total if run.n_total else (1.0 if RunStatus(run.status).final else 0.0),
        cost_usd=float(cost or 0),
        eta_seconds=eta,
        rate_per_s=rate,
        errors_by_type=errors,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
        events=run.events or [],
    )


def _live(run: Run) -> progress.Progress | None:
    try:
        from labrun.shared.storage.broker import client_app

        return progress.read(client_app().backend.client, run.id)
    except Exception:  # Redis away: the rows answer, slower
        return None


def get_run(session: Session, run_id: str) -> RunOut:
    run = session.get(Run, run_id, options=[defer(Run.config)])  # its config snapshot: ~100 KB
    if run is None:
        raise NotFound(run_id)
    return run_out(session, run)


def list_runs(
    session: Session, limit: int = 50, offset: int = 0, project_id: int | None = None
) -> list[RunOut]:
    """Newest first; ``project_id``: only that project's runs (None: every run)."""
    q = select(Run).options(defer(Run.config)).order_by(Run.created_at.desc()).limit(limit).offset(offset)
    if project_id is not None:
        q = q.where(Run.project_id == project_id)
    return [run_out(session, r) for r in session.scalars(q)]


def list_predictions(
    session: Session,
    run_id: str,
    *,
    status: str | None = None,
    correct: bool | None = None,
    error_type: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> PredictionPage:
    if session.get(Run, run_id) is None:
        raise NotFound(run_id)
    where: list[Any] = [Prediction.run_id == run_id]
    if status:
        where.append(Prediction.status == status)
    if correct is not None:
        where.append(Prediction.correct.is_(correct))
    if error_type:
        where.append(Prediction.error_type == error_type)
    total = session.scalar(select(func.count()).select_from(Prediction).where(*where)) or 0
    rows = session.execute(
        select(Prediction, Datapoint.external_id)
        .join(Datapoint, Datapoint.id == Prediction.datapoint_id)
        .where(*where)
        .order_by(Datapoint.position)
        .offset(offset)
        .limit(limit)
    ).all()
    items = [PredictionOut.model_validate({**_columns(p), "external_id": ext}) for p, ext in rows]
    return PredictionPage(items=items, total=total, offset=offset, limit=limit)


def _columns(p: Prediction) -> dict[str, Any]:
    return {c.key: getattr(p, c.key) for c in Prediction.__table__.columns}


def get_metrics(session: Session, run_id: str) -> list[MetricOut]:
    if session.get(Run, run_id) is None:
        raise NotFound(run_id)
    rows = session.scalars(
        select(Metric).where(Metric.run_id == run_id).order_by((Metric.segment != "all"), Metric.segment)
    )
    return [MetricOut.model_validate(m) for m in rows]
