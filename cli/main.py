"""``labrun`` entry point."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli import commands_process, commands_runs

app = typer.Typer(
    name="labrun",
    help="Run LLM experiments over large datasets on Celery workers (assign-cat: classify catalogs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
embedded_app = typer.Typer(
    help="The embedded PostgreSQL/Redis/worker under LABRUN_HOME.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(embedded_app, name="embedded")

commands_runs.register(app)
commands_process.register(app)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations to LABRUN_DATABASE_URL (or the embedded database)."""
    from cli.services import ensure_services
    from shared.db.migrate import upgrade

    ensure_services(migrate=False)
    upgrade(revision=revision)
    typer.echo(f"database at {revision}")


@embedded_app.command("stop")
def embedded_stop() -> None:
    """Stop the embedded worker, Redis and PostgreSQL."""
    from cli.services import stop_worker
    from shared import embedded
    from shared.config import get_settings

    home = get_settings().home.expanduser()
    stopped = (["worker"] if stop_worker(home) else []) + embedded.stop(home)
    typer.echo("stopped: " + (", ".join(stopped) or "nothing was running"))


@embedded_app.command("status")
def embedded_status() -> None:
    """Show the embedded services' URLs (starting them if needed)."""
    from cli.services import ensure_services, workers_alive

    s = ensure_services()
    typer.echo(f"database: {s.database_url}\nredis:    {s.redis_url}\nartifacts: {s.artifacts_location()}")
    typer.echo(f"workers answering: {workers_alive()}")


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="labrun")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
