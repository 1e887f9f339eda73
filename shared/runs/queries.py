"""Read models for the API and the CLI: runs with live progress, predictions, metrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db.models import Datapoint, Experiment, Metric, Prediction, Run
from shared.errors import NotFound
from shared.schemas import MetricOut, PredictionOut, PredictionPage, RunCounts, RunOut


def run_out(session: Session, run: Run) -> RunOut:
    n, n_ok, cost, first, last = session.execute(
        select(
            func.count(),
            func.count().filter(Prediction.status == "succeeded"),
            func.coalesce(func.sum(Prediction.cost_usd), 0),
            func.min(Prediction.started_at),
            func.max(Prediction.finished_at),
        ).where(Prediction.run_id == run.id)
    ).one()
    errors = dict(
        session.execute(
            select(Prediction.error_type, func.count())
            .where(Prediction.run_id == run.id, Prediction.error_type.is_not(None))
            .group_by(Prediction.error_type)
        ).all()
    )
    rate = eta = None
    if n and first and last and last > first:
        rate = n / (last - first).total_seconds()
        if run.status == "running":
            eta = (run.n_total - n) / rate
    experiment = session.scalar(select(Experiment.name).where(Experiment.id == run.experiment_id))
    return RunOut(
        id=run.id,
        experiment=experiment,
        use_case=run.use_case,
        model_alias=run.model_alias,
        status=run.status,
        counts=RunCounts(total=run.n_total, done=n, succeeded=n_ok, failed=n - n_ok, pending=run.n_total - n),
        progress=n / run.n_total if run.n_total else 1.0,
        cost_usd=float(cost or 0),
        eta_seconds=eta,
        rate_per_s=rate,
        errors_by_type=errors,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
    )


def get_run(session: Session, run_id: str) -> RunOut:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(run_id)
    return run_out(session, run)


def list_runs(session: Session, limit: int = 50, offset: int = 0) -> list[RunOut]:
    runs = session.scalars(select(Run).order_by(Run.created_at.desc()).limit(limit).offset(offset))
    return [run_out(session, r) for r in runs]


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
