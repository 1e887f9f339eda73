"""``/experiments``: the experiments the database knows (their specs live in the users'
repositories), with each one's runs and the ranked cells of its latest sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func, select

from labrun.api.deps import CurrentProject
from labrun.shared.experiments import summary
from labrun.shared.runs.access import experiments_of, find_experiment
from labrun.shared.storage.db.models import Experiment, Run
from labrun.shared.storage.db.session import session_scope

router = APIRouter(tags=["experiments"])


class ExperimentOut(BaseModel):
    name: str
    use_case: str | None
    runs: int
    last_run_at: datetime | None
    latest: list[dict[str, Any]]  # the latest sweep's cells, best accuracy first


class ExperimentDetail(ExperimentOut):
    all_runs: list[dict[str, Any]]


def _runs(s: Any, exp: Experiment, limit: int = 200) -> list[Run]:
    """The experiment's runs, newest first (by its row: names are unique per project only)."""
    q = select(Run).where(Run.experiment_id == exp.id).order_by(Run.created_at.desc()).limit(limit)
    return list(s.scalars(q))


def _out(s: Any, exp: Experiment, runs: list[Run]) -> dict[str, Any]:
    latest = summary.summarize(s, summary.latest_sweep(runs))
    return {
        "name": exp.name,
        "use_case": (exp.config or {}).get("use_case"),
        "runs": len(runs),
        "last_run_at": runs[0].created_at if runs else None,
        "latest": [c.as_dict() for c in latest],
    }


@router.get("/experiments", response_model=list[ExperimentOut])
def list_experiments(caller: CurrentProject, limit: int = 100) -> list[dict[str, Any]]:
    """The project's experiments with runs, the most recently run first."""
    with session_scope() as s:
        last = func.max(Run.created_at)
        names = s.execute(
            select(Experiment).join(Run, Run.experiment_id == Experiment.id).group_by(Experiment.id)
            .where(experiments_of(caller.project_id)).order_by(last.desc()).limit(min(limit, 500))
        ).scalars()  # fmt: skip
        return [_out(s, e, _runs(s, e)) for e in names]


@router.get(
    "/experiments/{name}", response_model=ExperimentDetail, responses={404: {"description": "Unknown"}}
)
def get_experiment(name: str, caller: CurrentProject) -> dict[str, Any]:
    """One experiment: its latest sweep ranked, and every run (newest first)."""
    with session_scope() as s:
        exp = find_experiment(s, caller.project_id, name)
        runs = _runs(s, exp)
        return {**_out(s, exp, runs), "all_runs": [c.as_dict() for c in summary.summarize(s, runs)]}
