"""Create, archive and re-document experiments on disk (the files; git is the user's business).

``create`` writes ``.experiments/<name>/experiment.yaml`` (commented defaults), ``README.md`` and
``results/.gitkeep``; ``set_status``/``archive`` edit the ``status:`` line in place (comments kept);
``record_results`` writes the results summary and regenerates the README.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labrun.shared.experiments import layout, readme, results
from labrun.shared.experiments.load import Experiment, load, load_text
from labrun.shared.experiments.spec import ExperimentError
from labrun.shared.usecases import registry

TEMPLATE = """\
# A labrun experiment. Versions are git tags experiments/{name}/vX.Y.Z (the name carries none).
name: {name}
description: {description}
status: draft  # draft | ready | archived
use_case: {use_case}  # `labrun use-cases`
model: {model}  # an alias from models.yaml

dataset:
  location: git  # git (relative to this directory) | path (a local file) | s3 (s3://bucket/key)
  path: datasets/data.csv  # keep data in git small: under 1 MB, about 1,000 rows
  # format: csv  # csv | jsonl | parquet (default: from the extension)

params:
  temperature: 0.0
  # max_tokens: 64  # default: the model alias's
  # seed: 7

# The use case's options ({options}).
# A value may be read from a file next to this one: {{file: labels.txt}}
options: {{}}

# prompt:  # templates over the row's fields (default: the use case's)
#   system: {{file: system.txt}}
#   user: {{file: user.txt}}

# Full results go to <base_path>/{name}/results/run-<timestamp>/ (default: the artifacts location).
results: {{}}
#  base_path: s3://my-bucket/experiments

tags: []
metadata: {{}}

# matrix:  # a sweep: one run per combination, e.g.
#   model: [gpt4o_mini, haiku]
#   params.temperature: [0.0, 0.7]
"""


def create(
    root: Path, name: str, use_case: str = registry.DEFAULT, model: str | None = None, description: str = ""
) -> Experiment:
    """Write a new experiment under ``root`` (``model`` None: the catalog's default alias).
    Refuses an existing experiment directory."""
    directory = layout.experiment_dir(root, name)
    if directory.exists() and any(directory.iterdir()):
        raise ExperimentError.one(
            ("name",), f"experiment {name!r} already exists ({layout.display(directory)})"
        )
    if model is None:
        from labrun.shared.core.catalog import load_catalog

        model = load_catalog().default
    options = ", ".join(registry.get(use_case).option_names()) if use_case in registry.names() else "-"
    text = TEMPLATE.format(
        name=name, description=json.dumps(description), use_case=use_case, model=model, options=options
    )
    exp = load_text(text, file=layout.display(directory / layout.SPEC_FILE), directory=directory)
    (directory / layout.RESULTS_DIR).mkdir(parents=True, exist_ok=True)
    (directory / layout.RESULTS_DIR / ".gitkeep").touch()
    (directory / layout.SPEC_FILE).write_text(text)
    _write_readme(root, exp)
    return exp


def set_status(root: Path, name: str, status: str) -> Experiment:
    """Set ``status:`` (draft | ready | archived) in the YAML, keeping its comments; README redone."""
    path = layout.spec_path(root, name)
    exp = load(root, name)
    line = re.compile(r"^(status:[ \t]*)[^#\n]*?([ \t]*(#.*)?)$", re.MULTILINE)
    if line.search(exp.text):
        text = line.sub(lambda m: f"{m[1]}{status}{m[2]}", exp.text, count=1)
    else:
        text = exp.text + ("" if exp.text.endswith("\n") else "\n") + f"status: {status}\n"
    updated = load_text(text, file=exp.file, directory=exp.directory)
    path.write_text(text)
    _write_readme(root, updated)
    return updated


def archive(root: Path, name: str) -> Experiment:
    """Mark the experiment archived (its files stay; ``list`` may hide it)."""
    return set_status(root, name, "archived")


def refresh_readme(root: Path, name: str) -> Path:
    """Regenerate README.md from the spec and results/metrics.json."""
    return _write_readme(root, load(root, name))


def record_results(root: Path, name: str, metrics: Mapping[str, Any], latest_run: str) -> Experiment:
    """Write results/metrics.json and latest-run.txt, then regenerate the README."""
    exp = load(root, name)
    results.write_summary(root, name, metrics, latest_run)
    _write_readme(root, exp)
    return exp


def _write_readme(root: Path, exp: Experiment) -> Path:
    metrics, latest = results.read_summary(root, exp.spec.name)
    path = layout.readme_path(root, exp.spec.name)
    path.write_text(readme.render(exp, metrics, latest))
    return path
