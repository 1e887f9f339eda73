"""``labrun compare RUN_A RUN_B``: a paired comparison of two runs over the datapoints both have."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class FlipSide(StrEnum):
    a = "a"  # right in A only
    b = "b"  # right in B only


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)


def compare(
    run_a: Annotated[str, typer.Argument(help="Run A (the baseline)")],
    run_b: Annotated[str, typer.Argument(help="Run B (differences are B - A)")],
    flips: Annotated[
        FlipSide | None,
        typer.Option("--flips", help="List the datapoints right only in a (A right, B wrong) or only in b"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many flips to list")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON (with --flips: the flips)")
    ] = False,
) -> None:
    """Accuracy with 95% intervals and coverage of each run; over the datapoints judged in both
    (paired by id), B - A with its 95% interval, McNemar's exact p, flips and segments; cost and
    latency differences."""
    from labrun.cli.compare_view import print_comparison
    from labrun.cli.display import console
    from labrun.cli.remote import api_errors, remote
    from labrun.cli.services import ensure_services
    from labrun.shared.analysis import compare as analysis
    from labrun.shared.analysis.schemas import Comparison, FlipPage
    from labrun.shared.core.errors import NotFound
    from labrun.shared.storage.db.session import session_scope

    direction = "a_only" if flips == FlipSide.a else "b_only"
    if lab := remote():  # through the API (LABRUN_API_URL, LABRUN_API_KEY)
        with api_errors("RUN_A / RUN_B"):
            result = Comparison.model_validate(lab.compare(run_a, run_b))
            page = FlipPage.model_validate(lab.flips(run_a, run_b, direction, limit=limit)) if flips else None
    else:
        ensure_services()
        try:
            with session_scope() as s:
                result = analysis.compare(s, run_a, run_b)
                page = analysis.flips(s, run_a, run_b, direction, limit=limit) if flips else None
        except NotFound as exc:
            missing = ", ".join(repr(i) for i in str(exc.args[0]).split(", "))
            raise typer.BadParameter(f"no run {missing}", param_hint="RUN_A / RUN_B") from None
    if as_json:
        typer.echo((page or result).model_dump_json(indent=2))
        return
    print_comparison(console, result, page)
