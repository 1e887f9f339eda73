"""``labrun`` entry point."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from labrun.cli import (
    commands_compare,
    commands_errors,
    commands_experiments,
    commands_keys,
    commands_process,
    commands_runs,
    demo,
)

EXIT_CODES = """exit codes: 0 ok; 1 the run failed or is partial (--wait); 2 bad input or option;
3 a service (database, Redis, artifact store, API) cannot be reached; 130 interrupted"""


app = typer.Typer(
    name="labrun",
    help="Run LLM experiments over large datasets on Celery workers (use cases: `labrun use-cases`).",
    epilog=EXIT_CODES,
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
app.command("demo")(demo.demo)
commands_process.register(app)
commands_compare.register(app)
commands_experiments.register(app)
commands_errors.register(app)
commands_keys.register(app)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations to LABRUN_DATABASE_URL (or the embedded database)."""
    from labrun.cli.services import ensure_services
    from labrun.shared.storage.db.migrate import upgrade

    ensure_services(migrate=False)
    upgrade(revision=revision)
    typer.echo(f"database at {revision}")


@embedded_app.command("stop")
def embedded_stop() -> None:
    """Stop the embedded worker, Redis and PostgreSQL."""
    from labrun.cli.services import stop_worker
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage import embedded

    home = get_settings().home.expanduser()
    stopped = (["worker"] if stop_worker(home) else []) + embedded.stop(home)
    typer.echo("stopped: " + (", ".join(stopped) or "nothing was running"))


@embedded_app.command("status")
def embedded_status() -> None:
    """Show the embedded services' URLs (starting them if needed)."""
    from labrun.cli.services import ensure_services, workers_alive

    s = ensure_services()
    db, rd = _masked(s.database_url), _masked(s.redis_url)
    typer.echo(f"database: {db}\nredis:    {rd}\nartifacts: {s.artifacts_location()}")
    typer.echo(f"workers answering: {workers_alive()}")


def _masked(url: str | None) -> str:
    """A URL without its password (``postgresql://user:***@host/db``)."""
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return "-"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _unreachable(exc: BaseException) -> str | None:
    """Which service an exception says cannot be reached (None: not a connection problem)."""
    import httpx
    import kombu.exceptions
    import redis.exceptions
    import sqlalchemy.exc

    kinds = {
        "the database": (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError),
        "Redis (the broker)": (redis.exceptions.ConnectionError, kombu.exceptions.OperationalError),
        "the labrun API": (httpx.ConnectError, httpx.ConnectTimeout),
    }
    for name, types in kinds.items():
        if isinstance(exc, types):
            return name
    return None


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="labrun", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        service = _unreachable(exc)
        if service is None:
            raise
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        print(f"Error: cannot reach {service}: {first}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
