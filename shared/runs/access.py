"""Who sees which run: a project's key sees only its project's runs and experiments; the operator
(the CLI on the services, or the API with ``LABRUN_API_AUTH=off``: ``project_id`` None) sees all.

Another project's run is reported exactly like a run that does not exist (``NotFound``: 404), so a
key learns nothing about the runs of other projects, not even their existence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from labrun.shared.core.errors import NotFound
from labrun.shared.storage.db.models import Experiment, Run


def ensure_visible(session: Session, project_id: int | None, *run_ids: str) -> None:
    """Raise ``NotFound`` naming every run of ``run_ids`` that is missing or another project's."""
    if project_id is None or not run_ids:
        return
    mine = set(session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.project_id == project_id)))
    hidden = [r for r in dict.fromkeys(run_ids) if r not in mine]
    if hidden:
        raise NotFound(", ".join(hidden))


def experiments_of(project_id: int | None) -> Any:
    """The ``WHERE`` clause of the experiments ``project_id`` sees (all of them: None)."""
    return Experiment.project_id == project_id if project_id is not None else true()


def find_experiment(session: Session, project_id: int | None, name: str) -> Experiment:
    """The experiment ``name`` as ``project_id`` sees it (the operator: its own first)."""
    exp = session.scalar(
        select(Experiment)
        .where(Experiment.name == name, experiments_of(project_id))
        .order_by(Experiment.project_id.is_not(None))
        .limit(1)
    )
    if exp is None:
        raise NotFound(f"experiment {name}")
    return exp
