"""``labrun keys create|list|revoke``: the operator's commands for projects' API keys. They work on
the database directly (like ``labrun db upgrade``), never through the API. A key is printed once,
at creation; only its SHA-256 is stored, and ``list`` shows everything but the secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

keys_app = typer.Typer(
    help="Projects' API keys (the operator's commands: they use the database).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _when(t: datetime | None) -> str:
    return "-" if t is None else f"{t.astimezone(UTC):%Y-%m-%d %H:%M}"


@keys_app.command("create")
def create(
    project: Annotated[str, typer.Option("--project", "-p", help="The key's project (created if new)")],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="What the key is for (e.g. a person)")
    ] = None,
) -> None:
    """Create a key of PROJECT and print it; it is shown only this once."""
    from labrun.cli.services import ensure_services
    from labrun.shared.core.errors import InputError
    from labrun.shared.storage import apikeys
    from labrun.shared.storage.db.session import session_scope

    ensure_services()
    try:
        with session_scope() as s:
            token, info = apikeys.create_key(s, project, name)
    except InputError as exc:
        raise typer.BadParameter(exc.message, param_hint="--project") from None
    typer.echo(f"key {info.id} of project {info.project}{f' ({name})' if name else ''}:\n\n  {token}\n")
    typer.echo(
        "It is shown only now: keep it in a secret store. Team members set LABRUN_API_KEY to it.", err=True
    )


@keys_app.command("list")
def list_(
    project: Annotated[str | None, typer.Option("--project", "-p", help="Only this project's keys")] = None,
) -> None:
    """Keys: id, project, name, created, last used, revoked (never the secret)."""
    from rich.table import Table

    from labrun.cli.display import console
    from labrun.cli.services import ensure_services
    from labrun.shared.storage import apikeys
    from labrun.shared.storage.db.session import session_scope

    ensure_services()
    with session_scope() as s:
        listed = apikeys.list_keys(s, project)
    table = Table(title="API keys (times in UTC)")
    for col in ("id", "project", "name", "created", "last used", "revoked"):
        table.add_column(col, no_wrap=col in ("id", "created"))
    for k in listed:
        table.add_row(
            k.id, k.project, k.name or "-", _when(k.created_at), _when(k.last_used_at), _when(k.revoked_at)
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (as `labrun keys list` shows it)")],
) -> None:
    """Revoke a key: the API refuses it (401) from the next request on."""
    from labrun.cli.services import ensure_services
    from labrun.shared.core.errors import NotFound
    from labrun.shared.storage import apikeys
    from labrun.shared.storage.db.session import session_scope

    ensure_services()
    try:
        with session_scope() as s:
            info = apikeys.revoke(s, key_id)
    except NotFound:
        raise typer.BadParameter(f"no key {key_id!r} (labrun keys list)", param_hint="KEY_ID") from None
    typer.echo(f"key {info.id} of project {info.project}: revoked {_when(info.revoked_at)}")
