"""``labrun errors RUN``: why rows failed, grouped by error type and message."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("errors")(errors)


def errors(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Groups shown")] = 20,
) -> None:
    """Failed rows grouped by error type and message: counts and example datapoints."""
    from rich import box
    from rich.table import Table

    from labrun.cli.display import console
    from labrun.cli.services import ensure_services
    from labrun.shared.core.errors import NotFound
    from labrun.shared.runs.errors_report import error_groups
    from labrun.shared.storage.db.session import session_scope

    ensure_services()
    try:
        with session_scope() as s:
            groups = error_groups(s, run_id, limit=limit)
    except NotFound:
        raise typer.BadParameter(f"no run {run_id!r}", param_hint="RUN") from None
    if not groups:
        typer.echo(f"{run_id}: no failed rows")
        return
    t = Table(box=box.SIMPLE_HEAD, title=f"{run_id}: failed rows by cause", title_justify="left")
    t.add_column("count", justify="right")
    t.add_column("error", no_wrap=True)
    t.add_column("message / examples", overflow="fold")
    for g in groups:
        t.add_row(str(g.count), g.error_type, f"{g.message or '-'}\n[dim]e.g. {', '.join(g.examples)}[/dim]")
    console.print(t)
