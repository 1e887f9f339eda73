"""``labrun demo``: the main job on a machine with nothing installed.

About 300 real BigBasket products go through the fake provider on the embedded PostgreSQL and
Redis with a real worker process (the same tasks and chord as production), then the metrics table
and the exported run directory are printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labrun.shared.runs.lifecycle import RunStatus


def examples_dir() -> Path:
    """The sample files, from the source tree or from the installed wheel alike."""
    import labrun.examples

    return Path(labrun.examples.__file__).parent


def demo(
    model: Annotated[str, typer.Option(help="Model alias")] = "fake",
    limit: Annotated[int | None, typer.Option(min=1, help="Rows of the sample to use")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where the run directory goes")] = Path("labrun-runs"),
    keep_services: Annotated[bool, typer.Option(help="Leave embedded services running afterwards")] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Worker threads")] = 32,
) -> None:
    """Classify a 300-product real catalog sample end to end and print the metrics."""
    from labrun.cli import display
    from labrun.cli.inputs import build_request
    from labrun.cli.services import ensure_services, is_embedded, start_worker, wait_for_worker, workers_alive
    from labrun.shared.runs.export import export_run
    from labrun.shared.runs.service import submit
    from labrun.shared.storage import embedded

    catalog = examples_dir() / "bigbasket-300.csv"
    taxonomy = examples_dir() / "bigbasket-taxonomy.txt"
    embedded_mode = is_embedded()
    from labrun.shared.core.config import get_settings

    already_running = embedded.running(get_settings().home.expanduser())
    settings = ensure_services()
    typer.echo(f"services: {'embedded under ' + str(settings.home) if embedded_mode else 'configured'}")
    proc = None
    if not workers_alive():
        proc = start_worker(settings.home.expanduser(), concurrency=concurrency, detached=False)
        wait_for_worker()
    try:
        req = build_request(
            catalog, model, limit, "demo", options=[f"taxonomy=@{taxonomy}", "max_candidates=300"]
        )
        created = submit(req, source=catalog.name)
        typer.echo(f"run {created.run_id}: {created.n_total} products of {catalog.name} via model '{model}'")
        run = display.watch(created.run_id, timeout_s=1800)
        from labrun.cli.commands_runs import show

        show(run.id)
        path = export_run(run.id, out)
        typer.echo(f"run directory: {path.resolve()}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if embedded_mode and not keep_services and not already_running:
            embedded.stop(settings.home.expanduser())
    if not RunStatus(run.status).has_results:
        raise typer.Exit(1)
