"""Where experiments live in the user's repository.

::

    <root>/.experiments/<name>/experiment.yaml   the spec (versioned; tags experiments/<name>/vX.Y.Z)
                               README.md         generated from the spec and the results summary
                               datasets/         small data files (under 1 MB, about 1,000 rows)
                               results/metrics.json, results/latest-run.txt

``root`` is the directory holding ``.experiments/``: the nearest one walking up from the current
directory, or else the git repository's top directory (where ``create`` makes ``.experiments/``).
"""

from __future__ import annotations

import os
from pathlib import Path

from labrun.shared.experiments.spec import ExperimentError, name_problem

EXPERIMENTS_DIR = ".experiments"
SPEC_FILE = "experiment.yaml"
README_FILE = "README.md"
DATASETS_DIR = "datasets"
RESULTS_DIR = "results"
METRICS_FILE = "metrics.json"
LATEST_RUN_FILE = "latest-run.txt"
SMALL_DATASET_BYTES = 1_000_000


def find_root(start: Path | None = None) -> Path:
    """The directory holding ``.experiments/``, walking up from ``start`` (default: the current
    directory) and stopping at the git repository's top, which is the answer when none is found."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / EXPERIMENTS_DIR).is_dir() or (d / ".git").exists():
            return d
    raise ExperimentError.one(
        (),
        f"no {EXPERIMENTS_DIR}/ directory in {here} or above it, and not inside a git repository: "
        "run from your repository (or create .experiments/ there)",
    )


def experiments_dir(root: Path) -> Path:
    return root / EXPERIMENTS_DIR


def experiment_dir(root: Path, name: str) -> Path:
    """``<root>/.experiments/<name>``; a name that could not be an experiment's is an error."""
    if problem := name_problem(name):
        raise ExperimentError.one(("name",), problem)
    return experiments_dir(root) / name


def spec_path(root: Path, name: str) -> Path:
    return experiment_dir(root, name) / SPEC_FILE


def readme_path(root: Path, name: str) -> Path:
    return experiment_dir(root, name) / README_FILE


def datasets_dir(root: Path, name: str) -> Path:
    return experiment_dir(root, name) / DATASETS_DIR


def results_dir(root: Path, name: str) -> Path:
    return experiment_dir(root, name) / RESULTS_DIR


def metrics_path(root: Path, name: str) -> Path:
    return results_dir(root, name) / METRICS_FILE


def latest_run_path(root: Path, name: str) -> Path:
    return results_dir(root, name) / LATEST_RUN_FILE


def spec_relpath(name: str) -> str:
    """The spec's path relative to the root, POSIX style (what ``git show <tag>:./<path>`` takes)."""
    return f"{EXPERIMENTS_DIR}/{name}/{SPEC_FILE}"


def list_names(root: Path) -> list[str]:
    """Names of the experiments under ``root`` (directories with an experiment.yaml), sorted."""
    base = experiments_dir(root)
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir() if (d / SPEC_FILE).is_file())


def display(path: Path) -> str:
    """``path`` as error messages show it: relative to the current directory when below it."""
    try:
        return (
            Path(os.path.relpath(path)).as_posix() if path.resolve().is_relative_to(Path.cwd()) else str(path)
        )
    except (ValueError, OSError):  # another drive, or the current directory is gone
        return str(path)
