"""``labrun experiments run`` (a sweep, a dry run, a version from a git tag) and ``diff``."""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

RootOpt = Annotated[
    Path | None, typer.Option("--root", help="Directory holding .experiments/ (default: found from here)")
]


@contextmanager
def clear_errors() -> Iterator[None]:
    """A bad spec, name, version or dataset is a one-line error naming the file and field."""
    from labrun.shared.core.errors import InputError

    try:
        yield
    except InputError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


def root_of(root: Path | None) -> Path:
    from labrun.shared.experiments.layout import find_root

    return root.resolve() if root else find_root()


def _load(root: Path, name: str, version: str | None) -> Any:
    from labrun.shared.core.catalog import load_catalog
    from labrun.shared.experiments import load, versions

    models = set(load_catalog().models)
    if version:
        return versions.load_version(root, name, version, models=models)
    return load.load(root, name, models=models)


def run(
    name: Annotated[str, typer.Argument(help="Experiment name")],
    version: Annotated[
        str | None, typer.Option(help="Run the spec as tagged experiments/<name>/vX.Y.Z")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Estimate rows, tokens, cost, duration")] = False,
    max_cost_usd: Annotated[
        float | None,
        typer.Option(min=0.0, help="Hard budget of the whole sweep (split equally between cells)"),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the runs and write the results")] = True,
    tag: Annotated[bool, typer.Option("--tag", help="Also create the suggested git tag")] = False,
    root: RootOpt = None,
) -> None:
    """Run every cell of the experiment's sweep together (one run per cell, same datapoints)."""
    from labrun.cli.display import console
    from labrun.cli.experiments_view import cells_table, estimates_table
    from labrun.cli.services import ensure_services, ensure_worker, is_embedded
    from labrun.shared.experiments import publish, requests, results, summary, versions
    from labrun.shared.runs.estimate import estimate
    from labrun.shared.runs.service import submit_many
    from labrun.shared.storage.db.models import Run
    from labrun.shared.storage.db.session import session_scope

    with clear_errors():
        base = root_of(root)
        exp = _load(base, name, version)
        if exp.spec.status == "archived":
            raise typer.BadParameter(f"{name} is archived", param_hint="NAME")
        sweep = results.run_dir_name()
        cells = requests.cell_requests(exp, version=version, sweep=sweep, max_cost_usd=max_cost_usd)
        embedded, settings = is_embedded(), ensure_services()
        if dry_run:
            with session_scope() as s:
                console.print(estimates_table([(c.cell.label, estimate(s, c.request)) for c in cells]))
            return
        created = submit_many([c.request for c in cells], source=f"experiment:{exp.file}")
    for c, r in zip(cells, created, strict=True):
        typer.echo(f"{c.cell.label}: run {r.run_id} ({r.n_total} datapoints)")
    if embedded:
        ensure_worker(settings)
    if not wait:
        return
    from labrun.cli import display

    for r in created:
        display.watch(r.run_id)
    with session_scope() as s:
        runs = [s.get(Run, r.run_id) for r in created]
        ranked = summary.summarize(s, [r for r in runs if r is not None])
    console.print(cells_table(ranked, f"{name} {version or '(working tree)'}: cells, best first"))
    with clear_errors():
        url = publish.publish(base, exp, sweep, version, ranked)
    typer.echo(f"full results: {url}")
    best = ranked[0]
    line = results.summary_line(best.model, best.accuracy, best.ci, sum(c.cost_usd for c in ranked))
    if len(ranked) > 1:
        line = f"best {best.cell} | " + line.split(" | ", 1)[1] + f" | {len(ranked)} cells"
    from labrun.shared.experiments.spec import ExperimentError

    try:
        command = results.tag_command(name, None, line, versions.list_versions(base, name))
    except ExperimentError as exc:  # not a git repository: the results stand, unversioned
        typer.echo(f"not versioned: {exc}")
        return
    if tag:
        subprocess.run(command, shell=True, cwd=base, check=True)  # noqa: S602 - our own quoted command
        typer.echo(f"tagged: {command}")
    else:
        typer.echo(f"to version this result:\n  {command}")


def _side(root: Path, name: str, ref: str) -> tuple[dict[str, Any], list[Any]]:
    """A version (vX.Y.Z: the spec at its tag and the runs made from it) or a run id."""
    from labrun.shared.experiments import summary
    from labrun.shared.experiments.requests import spec_hash
    from labrun.shared.experiments.spec import dump
    from labrun.shared.storage.db.models import Run
    from labrun.shared.storage.db.session import session_scope

    with session_scope() as s:
        run = s.get(Run, ref)
        if run is not None:
            s.expunge(run)
            return dict(summary.info(run).get("spec") or {}), [run]
        exp = _load(root, name, ref)
        sha = spec_hash(exp)  # a run from the working tree with the spec as tagged is of that version
        runs = [
            r
            for r in summary.experiment_runs(s, name)
            if summary.info(r).get("version") == ref or summary.info(r).get("spec_sha") == sha
        ]
        for r in runs:
            s.expunge(r)
    return dump(exp.spec), summary.latest_sweep(runs)


def diff(
    name: Annotated[str, typer.Argument(help="Experiment name")],
    a: Annotated[str, typer.Argument(help="A version (v1.0.0) or a run id: the baseline")],
    b: Annotated[str, typer.Argument(help="A version or a run id: differences are B - A")],
    root: RootOpt = None,
) -> None:
    """The spec's changes from A to B, and the metrics' changes with their statistics (paired)."""
    from labrun.cli.compare_view import print_comparison
    from labrun.cli.display import console
    from labrun.cli.services import ensure_services
    from labrun.shared.analysis.compare import compare
    from labrun.shared.experiments import summary
    from labrun.shared.storage.db.session import session_scope

    ensure_services()
    with clear_errors():
        base = root_of(root)
        (spec_a, runs_a), (spec_b, runs_b) = _side(base, name, a), _side(base, name, b)
    text_a, text_b = (yaml.safe_dump(x, sort_keys=True).splitlines() for x in (spec_a, spec_b))
    changes = list(difflib.unified_diff(text_a, text_b, a, b, lineterm=""))
    console.print("\n".join(changes) if changes else "the specs are the same", markup=False, highlight=False)
    cells_b = {str(summary.info(r).get("cell")): r for r in runs_b}
    pairs = [
        (ra, cells_b[cell]) for ra in runs_a if (cell := str(summary.info(ra).get("cell"))) in cells_b
    ] or ([(runs_a[0], runs_b[0])] if runs_a and runs_b else [])
    if not pairs:
        typer.echo(f"no runs to compare (runs of A: {len(runs_a)}, of B: {len(runs_b)})")
        return
    with session_scope() as s:
        for ra, rb in pairs:
            console.rule(f"{summary.info(ra).get('cell') or ra.model_alias}: {ra.id} -> {rb.id}")
            print_comparison(console, compare(s, ra.id, rb.id))
