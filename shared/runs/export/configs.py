"""``config/``: the model spec as a models.yaml, the run config, and where it ran. Never secrets."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from labrun.shared.core.catalog import ModelSpec
from labrun.shared.runs.export.common import Export
from labrun.shared.runs.snapshot import git_commit
from labrun.shared.storage.db.models import Dataset, Experiment
from labrun.shared.usecases import registry


@lru_cache(maxsize=1)
def labrun_version() -> str:
    """The installed labrun version, else the source tree's pyproject version."""
    try:
        return metadata.version("labrun")
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    try:
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def write_models_yaml(ex: Export) -> None:
    """``config/models.yaml``: a catalog with the run's single alias, loadable by ``parse_catalog``."""
    dumped = dict(ex.run.config.get("model") or {})
    alias = str(dumped.pop("alias", None) or ex.run.model_alias)
    order = [f for f in ModelSpec.model_fields if f in dumped] + [
        f for f in dumped if f not in ModelSpec.model_fields
    ]
    spec = {f: dumped[f] for f in order}  # models.yaml field order (JSONB does not keep it)
    catalog = ex.redact({"default": alias, "models": {alias: spec}})
    header = (
        f"# models.yaml snapshot of run {ex.run.id} (the one alias it used).\n"
        "# prices: USD per 1M tokens; limits: the rate limits in force when the run was created.\n"
    )
    body = yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True)
    ex.write_text("config/models.yaml", header + body)


def write_run_config(ex: Export) -> dict[str, Any]:
    """``config/run_config.json``: the config snapshot without ``system`` and without the use
    case's bulky parts (e.g. assign-cat's taxonomy paths: they are in ``inputs/``)."""
    run = ex.run
    experiment = ex.session.scalar(select(Experiment.name).where(Experiment.id == run.experiment_id))
    dataset = ex.session.get(Dataset, run.dataset_id)
    config = {k: v for k, v in run.config.items() if k not in ("system", "dataset")}
    submitted = run.config.get("dataset") or {}  # older runs: the dataset's first name
    config = registry.get(run.use_case).compact_config(config)
    out = {
        "run_id": run.id,
        "experiment": experiment,
        "dataset": {
            "id": run.dataset_id,
            "name": submitted.get("name") or (dataset.name if dataset else None),
            "sha256": dataset.content_sha256 if dataset else None,
            "n_rows": dataset.n_rows if dataset else None,
            "source": submitted.get("source") or (dataset.source if dataset else None),
        },
        "model_alias": run.model_alias,
        "n_total": run.n_total,
        "created_at": run.created_at,
        **config,
    }
    ex.write_json("config/run_config.json", out)
    return {"experiment": experiment, "dataset": out["dataset"]}


def write_system_info(ex: Export) -> None:
    """``config/system_info.json``: where the run was created, plus what produced this export."""
    info = dict(ex.run.config.get("system") or {})
    info["export"] = {
        "labrun": labrun_version(),
        "git_commit": git_commit(),
        "exported_at": datetime.now(UTC),
    }
    ex.write_json("config/system_info.json", info)


def write_configs(ex: Export) -> dict[str, Any]:
    write_models_yaml(ex)
    about = write_run_config(ex)
    write_system_info(ex)
    return about
