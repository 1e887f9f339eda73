"""An experiment's results: the summary in git, the full results elsewhere.

``results/metrics.json`` (the summary) and ``results/latest-run.txt`` (the full results' URL) are
small and committed with the spec; the full results go to
``<base_path>/<name>/results/run-<timestamp>/`` in a local directory or S3, through the artifact
store of ``shared/storage``.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labrun.shared.experiments import layout
from labrun.shared.experiments.spec import ExperimentError
from labrun.shared.experiments.versions import next_version, normalize, tag_name
from labrun.shared.storage.artifacts import open_store


def run_dir_name(when: datetime | None = None) -> str:
    """``run-20250131T120000Z`` (UTC; now by default)."""
    return "run-" + (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def full_results_url(base_path: str, name: str, run: str) -> str:
    """``<base_path>/<name>/results/<run>``."""
    return f"{base_path.rstrip('/')}/{name}/results/{run}"


def write_full_results(
    base_path: str,
    name: str,
    files: Mapping[str, bytes | str | Path],
    *,
    run: str | None = None,
    root: Path | None = None,
    endpoint_url: str | None = None,
) -> str:
    """Write ``files`` (relative name -> bytes, text, or a file or directory to copy) under
    ``<base_path>/<name>/results/<run>/`` and return that directory's URL (an absolute path or
    ``s3://...``). A relative local ``base_path`` starts at ``root`` (default: the current
    directory); for s3 the endpoint defaults to ``LABRUN_S3_ENDPOINT_URL``."""
    if base_path.startswith("s3://"):
        if endpoint_url is None:
            from labrun.shared.core.config import get_settings

            endpoint_url = get_settings().s3_endpoint_url
    else:
        local = Path(base_path).expanduser()
        base_path = str(local if local.is_absolute() else (root or Path.cwd()) / local)
    store = open_store(full_results_url(base_path, name, run or run_dir_name()), endpoint_url)
    for key, data in _items(files):
        store.put(key, data, mimetypes.guess_type(key)[0] or "application/octet-stream")
    return store.url


def _items(files: Mapping[str, bytes | str | Path]) -> list[tuple[str, bytes]]:
    out = []
    for rel, content in files.items():
        key = posixpath.normpath(rel.replace("\\", "/"))
        if key.startswith(("../", "/")) or key in ("..", "."):
            raise ExperimentError.one(("files", rel), "must be a relative path inside the run directory")
        if isinstance(content, Path) and content.is_dir():
            out += [(f"{key}/{p.relative_to(content).as_posix()}", p.read_bytes())
                    for p in sorted(content.rglob("*")) if p.is_file()]  # fmt: skip
        elif isinstance(content, Path):
            out.append((key, content.read_bytes()))
        else:
            out.append((key, content.encode() if isinstance(content, str) else content))
    return out


def write_summary(root: Path, name: str, metrics: Mapping[str, Any], latest_run: str) -> tuple[Path, Path]:
    """Write ``results/metrics.json`` and ``results/latest-run.txt``; returns their paths.

    ``metrics`` is any JSON; the README shows ``{"cells": [{"label", "model", "accuracy",
    "ci": [lo, hi], "cost_usd"}, ...]}`` (or those keys at the top level) as summary lines."""
    metrics_file, latest_file = layout.metrics_path(root, name), layout.latest_run_path(root, name)
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    metrics_file.write_text(json.dumps(dict(metrics), indent=2, sort_keys=True, default=str) + "\n")
    latest_file.write_text(latest_run.strip() + "\n")
    return metrics_file, latest_file


def read_summary(root: Path, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(metrics, latest run URL)``, each None when not written yet."""
    metrics_file, latest_file = layout.metrics_path(root, name), layout.latest_run_path(root, name)
    metrics = None
    if metrics_file.is_file():
        try:
            metrics = json.loads(metrics_file.read_text())
        except json.JSONDecodeError as exc:
            raise ExperimentError.one(
                (), f"invalid JSON at line {exc.lineno}", layout.display(metrics_file)
            ) from None
    latest = (latest_file.read_text().strip() or None) if latest_file.is_file() else None
    return metrics, latest


def summary_line(model: str, accuracy: float | None, ci: Sequence[float] | None, cost: float | None) -> str:
    """``model=gpt-4o-mini | acc=0.83 [0.80,0.86] | $0.41`` (``-`` for what is unknown)."""
    acc = "-" if accuracy is None else f"{accuracy:.2f}"
    if accuracy is not None and ci:
        acc += f" [{ci[0]:.2f},{ci[1]:.2f}]"
    money = "-" if cost is None else f"{cost:.4f}" if 0 < cost < 0.01 else f"{cost:.2f}"
    return f"model={model} | acc={acc} | ${money}"


def tag_command(name: str, version: str | None, summary: str, existing: Sequence[str] = ()) -> str:
    """The ``git tag -a experiments/<name>/vX.Y.Z -m '<summary>'`` command to version a result;
    ``version`` None takes the next minor version after ``existing`` (``list_versions``)."""
    version = next_version(existing) if version is None else normalize(version)
    if version in {normalize(v) for v in existing}:
        raise ExperimentError.one(
            ("version",), f"{version} is already tagged; next: {next_version(existing)}"
        )
    return f"git tag -a {tag_name(name, version)} -m {shlex.quote(summary)}"
