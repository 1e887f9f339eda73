"""Queries more than one floor needs: "the run's datapoints" is written once, here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, or_, select

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.storage.db.models import Datapoint, Prediction, Run


def run_datapoints(run: Run, *columns: Any) -> Select[Any]:
    """``columns`` of the run's datapoints in dataset order: the first ``n_total`` of its dataset,
    as dispatched."""
    return (
        select(*columns)
        .where(Datapoint.dataset_id == run.dataset_id)
        .order_by(Datapoint.position)
        .limit(run.n_total)
    )


def missing_datapoints(run: Run) -> Select[Any]:
    """Ids of the run's datapoints that have no prediction row, in dataset order."""
    dps = run_datapoints(run, Datapoint.id, Datapoint.position).subquery()
    done = select(Prediction.datapoint_id).where(Prediction.run_id == run.id)
    return select(dps.c.id).where(dps.c.id.not_in(done)).order_by(dps.c.position)


# Failures of the provider or of labrun's infrastructure: the answer was never judged.
INFRA_ERRORS = ("rate_limited", "server_error", "overloaded", "timeout", "connection", "internal")


def retry_datapoints(run: Run, *, all_failed: bool = False) -> Select[Any]:
    """Ids (and external ids) of the run's datapoints to run again, in dataset order: no row
    (cancelled, lost), skipped by the budget, an infrastructure or provider failure, and with
    ``all_failed`` every failed row (answers that did not parse, cut or filtered answers too)."""
    dps = run_datapoints(run, Datapoint.id, Datapoint.external_id, Datapoint.position).subquery()
    failed = Prediction.status == PredictionStatus.FAILED
    again = or_(
        Prediction.datapoint_id.is_(None),
        Prediction.status == PredictionStatus.SKIPPED_BUDGET,
        failed if all_failed else and_(failed, Prediction.error_type.in_(INFRA_ERRORS)),
    )
    joined = dps.outerjoin(Prediction, and_(Prediction.datapoint_id == dps.c.id, Prediction.run_id == run.id))
    return select(dps.c.id, dps.c.external_id).select_from(joined).where(again).order_by(dps.c.position)
