"""Run management commands: cancel a run, retry its failures into it, list the use cases."""

from __future__ import annotations

from typing import Annotated

import typer


def cancel(run_id: Annotated[str, typer.Argument(help="Run id")]) -> None:
    """Stop a run: no more of its datapoints are released; calls in flight finish and are recorded."""
    from labrun.cli.remote import api_errors, remote
    from labrun.cli.services import ensure_services
    from labrun.shared.core.errors import NotFound
    from labrun.shared.runs.service import cancel as cancel_run

    if lab := remote():  # through the API (LABRUN_API_URL, LABRUN_API_KEY)
        with api_errors():
            typer.echo(f"{run_id}: {lab.cancel(run_id)['status']}")
        return
    ensure_services()
    try:
        typer.echo(f"{run_id}: {cancel_run(run_id)}")
    except NotFound:
        raise typer.BadParameter(f"no run {run_id!r}", param_hint="RUN") from None


def retry(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Also answers that failed to parse, cut or filtered answers")
    ] = False,
    max_cost_usd: Annotated[
        float | None,
        typer.Option(min=0.0, help="A new budget for the run (continues a run that hit its budget)"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Watch until the run ends, then show metrics")] = False,
) -> None:
    """Run again, in the same run, the datapoints that ended in a provider or infrastructure
    failure (rate limited after every retry, 5xx, overloaded, timeout, connection), were skipped
    by the budget, or never ran (a cancelled run)."""
    from labrun.cli.remote import api_errors, remote
    from labrun.cli.services import ensure_services, ensure_worker, is_embedded
    from labrun.shared.core.errors import InputError, NotFound
    from labrun.shared.runs.retry import RetryResult
    from labrun.shared.runs.retry import retry as retry_run

    lab = remote()  # through the API (LABRUN_API_URL, LABRUN_API_KEY)
    embedded, settings = (False, None) if lab else (is_embedded(), ensure_services())
    try:
        if lab:
            with api_errors():
                result = RetryResult(**lab.retry(run_id, all_failed=all_failed, max_cost_usd=max_cost_usd))
        else:
            result = retry_run(run_id, all_failed=all_failed, max_cost_usd=max_cost_usd)
    except NotFound:
        raise typer.BadParameter(f"no run {run_id!r}", param_hint="RUN") from None
    except InputError as exc:
        raise typer.BadParameter(exc.message, param_hint="RUN") from None
    if not result.datapoints:
        typer.echo(f"{run_id}: nothing to retry ({result.status})")
        return
    typer.echo(f"{run_id}: {result.datapoints} datapoints queued again")
    if embedded and settings is not None:
        ensure_worker(settings)
    if wait:
        from labrun.cli import display
        from labrun.cli.remote import watch as watch_remote

        run = watch_remote(lab, run_id) if lab else display.watch(run_id)
        typer.echo(f"{run_id}: {run.status} ({run.counts.succeeded}/{run.counts.total} valid)")


def use_cases() -> None:
    """List the use cases."""
    from labrun.shared.usecases import registry

    for name in registry.names():
        typer.echo(f"{name:12} {registry.get(name).description}")
