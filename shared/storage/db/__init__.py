"""Database: SQLAlchemy 2 typed models, engine/session factory, Alembic migrations."""

from labrun.shared.storage.db.base import Base
from labrun.shared.storage.db.models import Datapoint, Dataset, Experiment, Metric, Prediction, Run

__all__ = ["Base", "Dataset", "Datapoint", "Experiment", "Run", "Prediction", "Metric"]
