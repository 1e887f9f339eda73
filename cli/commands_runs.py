"""Run commands: submit, watch, runs, show, export, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import display
from cli.inputs import build_request


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("watch")(watch)
    app.command("runs")(runs)
    app.command("show")(show)
    app.command("export")(export)
    from cli.demo import demo

    app.command("demo")(demo)


def submit(
    file: Annotated[
        Path | None, typer.Argument(help="Catalog: CSV (id,title,description,brand,category), JSONL or JSON")
    ] = None,  # noqa: E501
    model: Annotated[str | None, typer.Option(help="Model alias from models.yaml")] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option(
            help="Taxonomy file (Google format or one path per line); default: the catalog's labels"
        ),
    ] = None,  # noqa: E501
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows")] = None,
    single_product: Annotated[
        str | None, typer.Option("--single-product", help="Classify one product title")
    ] = None,  # noqa: E501
    experiment: Annotated[str | None, typer.Option(help="Experiment name")] = None,
    max_candidates: Annotated[int, typer.Option(min=1, help="Categories shown in the prompt")] = 300,
    wait: Annotated[bool, typer.Option("--wait", help="Watch until the run ends, then show metrics")] = False,
) -> None:
    """Create a run and enqueue one task per datapoint."""
    from cli.services import ensure_services, ensure_worker, is_embedded
    from shared.errors import InputError
    from shared.runs.service import submit as submit_run

    embedded_mode = is_embedded()
    settings = ensure_services()
    try:
        req = build_request(file, model, taxonomy, limit, single_product, experiment, max_candidates)
        created = submit_run(req, source=str(file) if file else "single-product")
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"run {created.run_id}: {created.n_total} datapoints queued")
    if embedded_mode:
        ensure_worker(settings)
    if wait:
        _finish(created.run_id)


def _finish(run_id: str) -> None:
    run = display.watch(run_id)
    show(run_id)
    if run.status not in ("succeeded", "partial"):
        raise typer.Exit(1)


def watch(run_id: Annotated[str, typer.Argument(help="Run id")]) -> None:
    """Live progress: done/total, rate, ETA, cost and errors."""
    from cli.services import ensure_services

    ensure_services()
    display.watch(run_id)


def runs(limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """List recent runs."""
    from cli.services import ensure_services
    from shared.db.session import session_scope
    from shared.runs import queries

    ensure_services()
    with session_scope() as s:
        display.console.print(display.runs_table(queries.list_runs(s, limit=limit)))


def show(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    all_segments: Annotated[bool, typer.Option("--all", help="Every segment")] = False,
) -> None:
    """A run's metrics table."""
    from cli.services import ensure_services
    from shared.db.session import session_scope
    from shared.errors import NotFound
    from shared.runs import queries

    ensure_services()
    try:
        with session_scope() as s:
            run = queries.get_run(s, run_id)
            metrics = queries.get_metrics(s, run_id)
    except NotFound:
        raise typer.BadParameter(f"no run {run_id!r}", param_hint="RUN") from None
    if not metrics:
        typer.echo(f"{run_id}: {run.status}, {run.counts.done}/{run.counts.total} done; no metrics yet")
        return
    display.print_metrics(run, metrics, max_segments=10_000 if all_segments else 12)


def export(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    out: Annotated[Path, typer.Option("--out", help="Parent directory of the run directory")] = Path(
        "labrun-runs"
    ),
    raw: Annotated[bool, typer.Option("--raw", help="Also copy every raw response")] = False,
) -> None:
    """Write the run directory: inputs/, config/, outputs/, metadata/."""
    from cli.services import ensure_services
    from shared.runs.export import export_run

    ensure_services()
    path = export_run(run_id, out, include_raw=raw)
    typer.echo(str(path))
