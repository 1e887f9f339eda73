"""Run commands: submit, watch, runs, show, export, demo."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from labrun.cli import commands_manage, display
from labrun.cli import remote as api
from labrun.cli.inputs import build_request
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.lifecycle import RunStatus


class CacheOpt(StrEnum):
    read_write = "read-write"
    read = "read"
    off = "off"
    refresh = "refresh"


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("watch")(watch)
    app.command("runs")(runs)
    app.command("show")(show)
    app.command("export")(export)
    app.command("use-cases")(commands_manage.use_cases)
    app.command("cancel")(commands_manage.cancel)
    app.command("retry")(commands_manage.retry)


def submit(
    file: Annotated[
        Path | None,
        typer.Argument(help="Data: CSV, JSONL or JSON (assign-cat: id,title,description,brand,category)"),
    ] = None,
    use_case: Annotated[
        str | None, typer.Option("--use-case", "-u", help="Use case (`labrun use-cases`); default assign-cat")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="A use-case option KEY=VALUE, or KEY=@FILE for a file's text"),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model alias from models.yaml")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows")] = None,
    single: Annotated[
        str | None, typer.Option("--single", "--single-product", help="Run one text (a product title)")
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="Experiment name")] = None,
    prompt_system: Annotated[str | None, typer.Option(help="System prompt template")] = None,
    prompt_user: Annotated[str | None, typer.Option(help="User prompt template")] = None,
    taxonomy: Annotated[
        Path | None, typer.Option(help="assign-cat shortcut for -o taxonomy=@FILE (Google format or paths)")
    ] = None,
    max_candidates: Annotated[
        int | None, typer.Option(min=1, help="assign-cat shortcut for -o max_candidates=N")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Watch until the run ends, then show metrics")] = False,
    temperature: Annotated[float | None, typer.Option(min=0.0, max=2.0, help="Default: the alias's")] = None,
    seed: Annotated[int | None, typer.Option(help="Sent to providers that take one")] = None,
    cache: Annotated[
        CacheOpt | None,
        typer.Option(help="Response cache (default read-write at temperature 0 or with a seed, else off)"),
    ] = None,
    max_cost_usd: Annotated[
        float | None, typer.Option(min=0.0, help="Hard budget across all workers; the rest is skipped")
    ] = None,
) -> None:
    """Create a run of a use case and enqueue one task per datapoint."""
    from labrun.cli.services import ensure_services, ensure_worker, is_embedded
    from labrun.shared.core.errors import InputError
    from labrun.shared.runs.service import submit as submit_run

    options = list(option or [])
    if taxonomy is not None:
        options.append(f"taxonomy=@{taxonomy}")
    if max_candidates is not None:
        options.append(f"max_candidates={max_candidates}")
    lab = api.remote()  # LABRUN_API_URL: through the API, with LABRUN_API_KEY
    embedded_mode = lab is None and is_embedded()
    settings = ensure_services() if lab is None else None
    try:
        req = build_request(
            file,
            model,
            limit,
            experiment,
            use_case=use_case,
            options=options,
            single=single,
            prompt_system=prompt_system,
            prompt_user=prompt_user,
            temperature=temperature,
            seed=seed,
            cache=cache.value if cache else None,
            max_cost_usd=max_cost_usd,
        )
        created = api.submit(lab, req) if lab else submit_run(req, source=str(file) if file else "single")
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"run {created.run_id}: {created.n_total} datapoints queued")
    for warning in created.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if embedded_mode and settings is not None:
        ensure_worker(settings)
    if wait:
        _finish(created.run_id, single=single is not None)


def _finish(run_id: str, single: bool = False) -> None:
    lab = api.remote()
    run = api.watch(lab, run_id) if lab else display.watch(run_id)
    if single:
        _print_answer(lab, run_id)
    else:
        show(run_id)
    if not RunStatus(run.status).has_results:
        raise typer.Exit(1)


def _print_answer(lab: object, run_id: str) -> None:
    """``--single``: the answer itself (parsed value, raw text, or why it failed)."""
    if lab is not None:
        item = lab.predictions(run_id, limit=1)["items"][0]  # type: ignore[attr-defined]
    else:
        from labrun.shared.runs import queries
        from labrun.shared.storage.db.session import session_scope

        with session_scope() as s:
            item = queries.list_predictions(s, run_id, limit=1).items[0].model_dump()
    if item.get("status") == PredictionStatus.SUCCEEDED:
        typer.echo(f"answer: {item.get('parsed')}")
    else:
        typer.echo(f"failed: {item.get('error_type')}: {item.get('error_message')}")
    typer.echo(f"raw:    {item.get('raw_output')!r}")
    typer.echo(f"cost ${float(item.get('cost_usd') or 0):.6f}, {item.get('latency_ms') or 0:.0f} ms")


def watch(run_id: Annotated[str, typer.Argument(help="Run id")]) -> None:
    """Live progress: done/total, rate, ETA, cost and errors."""
    from labrun.cli.services import ensure_services

    if lab := api.remote():
        api.watch(lab, run_id)
        return
    ensure_services()
    display.watch(run_id)


def runs(limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """List recent runs."""
    from labrun.cli.services import ensure_services
    from labrun.shared.runs import queries
    from labrun.shared.storage.db.session import session_scope

    if lab := api.remote():
        display.console.print(display.runs_table(api.runs(lab, limit)))
        return
    ensure_services()
    with session_scope() as s:
        display.console.print(display.runs_table(queries.list_runs(s, limit=limit)))


def show(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    all_segments: Annotated[bool, typer.Option("--all", help="Every segment")] = False,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Segment by a field, on the fly: a predictions column (status, error_type, response_model, "
            "attempts, ...), input.<col>, or len(input.<col>) (length buckets 10-20, 20-50, ...); repeatable",
        ),
    ] = None,
) -> None:
    """A run's metrics table (with --by, its figures by any field)."""
    from labrun.cli.services import ensure_services
    from labrun.shared.analysis.segments import segments
    from labrun.shared.core.errors import InputError, NotFound
    from labrun.shared.runs import queries
    from labrun.shared.storage.db.session import session_scope

    if lab := api.remote():
        run, by_field, metrics = api.show_data(lab, run_id, by or [])
    else:
        ensure_services()
        try:
            with session_scope() as s:
                run = queries.get_run(s, run_id)
                by_field = [segments(s, run_id, field) for field in by or ()]
                metrics = [] if by else queries.get_metrics(s, run_id)
        except NotFound:
            raise typer.BadParameter(f"no run {run_id!r}", param_hint="RUN") from None
        except InputError as exc:
            raise typer.BadParameter(exc.message, param_hint="--by") from None
    if by_field:
        from labrun.cli.segments_view import print_segments

        print_segments(display.console, run, by_field, max_segments=10_000 if all_segments else 25)
        return
    if not metrics:
        typer.echo(f"{run_id}: {run.status}, {run.counts.done}/{run.counts.total} done; no metrics yet")
        return
    display.print_metrics(run, metrics, max_segments=10_000 if all_segments else 12)


class TableFormat(StrEnum):
    """``labrun export --format``: the tables' file format."""

    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


def export(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parent directory of the run directory")] = Path(
        "labrun-runs"
    ),
    raw: Annotated[bool, typer.Option("--raw", help="Also copy every raw response")] = False,
    table_format: Annotated[
        TableFormat | None,
        typer.Option(
            "--format",
            help="Also write predictions.<fmt>, metrics.<fmt> and run.json for DuckDB / pandas",
        ),
    ] = None,
) -> None:
    """Write the run directory: inputs/, config/, outputs/, metadata/ (with --format, the tables too)."""
    from labrun.cli.services import ensure_services
    from labrun.shared.core.errors import NotFound
    from labrun.shared.runs.export import export_run

    api.local_only("export")
    ensure_services()
    try:
        path = export_run(run_id, out, include_raw=raw, tables=table_format.value if table_format else None)
    except NotFound:
        raise typer.BadParameter(f"no run {run_id!r}", param_hint="RUN") from None
    typer.echo(str(path))
