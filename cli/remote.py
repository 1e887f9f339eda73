"""Remote mode: with ``LABRUN_API_URL`` set (and ``LABRUN_API_KEY``, a project's key), the run
commands work through the HTTP API, so a team member needs no database or broker credentials.
Without it the CLI works on the configured or embedded services, as the operator's tool.

Commands ask :func:`remote` for a client (``None``: local) and run the API call inside
:func:`api_errors`, which turns the API's answers into the CLI's: an unknown (or another
project's) run is a bad argument (exit 2), like locally; any other refusal prints the server's
message and exits 2 (4xx) or 3 (5xx, API unreachable).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
import httpx
import typer

from labrun.shared.client import LabrunAPIError, LabrunClient
from labrun.shared.core.schemas import MetricOut, RunCreate, RunCreated, RunOut

if TYPE_CHECKING:
    from labrun.shared.analysis.segments import Segments


def remote() -> LabrunClient | None:
    """The API's client when ``LABRUN_API_URL`` is set (the key from ``LABRUN_API_KEY``)."""
    url = os.environ.get("LABRUN_API_URL")
    return LabrunClient(url, timeout=120.0) if url else None


def local_only(command: str | None = None) -> None:
    """Refuse a command that needs the services when the CLI is in remote mode (``LABRUN_API_URL``
    set, no ``LABRUN_DATABASE_URL``), instead of starting embedded services on a team member's
    machine. The operator, with both set, keeps every command."""
    if os.environ.get("LABRUN_API_URL") and not os.environ.get("LABRUN_DATABASE_URL"):
        ctx = click.get_current_context(silent=True)
        name = f"labrun {command}" if command else (ctx.command_path if ctx else "this command")
        typer.echo(
            f"{name} works on the services only (the operator's), not through the API. "
            "Unset LABRUN_API_URL to run it on local services, or ask the operator.",
            err=True,
        )
        raise typer.Exit(2)


@contextmanager
def api_errors(param_hint: str = "RUN") -> Iterator[None]:
    try:
        yield
    except LabrunAPIError as exc:
        if exc.status_code == 404:
            raise typer.BadParameter(_missing(exc.detail), param_hint=param_hint) from None
        if exc.status_code == 401:
            typer.echo(f"the labrun API refused the key (LABRUN_API_KEY): {exc.detail}", err=True)
        else:
            typer.echo(f"the labrun API answered {exc}", err=True)
        raise typer.Exit(2 if exc.status_code < 500 else 3) from None
    except httpx.TransportError as exc:
        typer.echo(f"cannot reach the labrun API at {os.environ.get('LABRUN_API_URL')}: {exc}", err=True)
        raise typer.Exit(3) from None


def _missing(detail: object) -> str:
    """``run X not found`` / ``X, Y not found`` -> ``no run 'X'`` / ``no run 'X', 'Y'`` (as locally)."""
    ids = str(detail).removesuffix(" not found").removeprefix("run ").split(", ")
    return "no run " + ", ".join(repr(i) for i in ids)


def submit(lab: LabrunClient, req: RunCreate) -> RunCreated:
    """The request built locally (files read, rows checked) sent as JSON rows."""
    body = req.model_dump(mode="json", exclude_none=True)
    with api_errors("FILE"):
        return RunCreated.model_validate(lab.submit(**body))


def get_run(lab: LabrunClient, run_id: str) -> RunOut:
    return RunOut.model_validate(lab.get_run(run_id))


def runs(lab: LabrunClient, limit: int) -> list[RunOut]:
    with api_errors():
        return [RunOut.model_validate(r) for r in lab.list_runs(limit=limit)]


def metrics(lab: LabrunClient, run_id: str) -> list[MetricOut]:
    return [MetricOut.model_validate(m) for m in lab.metrics(run_id)]


def watch(lab: LabrunClient, run_id: str) -> RunOut:
    from labrun.cli import display

    with api_errors():
        return display.watch(run_id, get=lambda r: get_run(lab, r))


def show_data(
    lab: LabrunClient, run_id: str, by: list[str]
) -> tuple[RunOut, list[Segments], list[MetricOut]]:
    """What ``labrun show`` prints: the run, its figures by each ``--by`` field, or its metrics."""
    from labrun.shared.analysis.segments import Segments

    with api_errors("RUN"):
        run = get_run(lab, run_id)
    with api_errors("--by"):
        by_field = [Segments.model_validate(lab.segments(run_id, field)) for field in by]
    with api_errors("RUN"):
        return run, by_field, [] if by else metrics(lab, run_id)
