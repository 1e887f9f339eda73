"""``labrun experiments``: versioned experiment specs in the user's repository, run as sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labrun.cli import experiments_run
from labrun.cli.experiments_run import root_of

app = typer.Typer(
    help="Experiments: .experiments/<name>/experiment.yaml in your repository.", no_args_is_help=True
)
RootOpt = Annotated[
    Path | None, typer.Option("--root", help="Directory holding .experiments/ (default: found from here)")
]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="experiments")
    app.command("run")(experiments_run.run)
    app.command("diff")(experiments_run.diff)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="lowercase-with-hyphens, no version in it")],
    use_case: Annotated[
        str, typer.Option("--use-case", "-u", help="Use case (`labrun use-cases`)")
    ] = "assign-cat",
    model: Annotated[str | None, typer.Option(help="Model alias from models.yaml")] = None,
    description: Annotated[str, typer.Option(help="One line: the question it answers")] = "",
    root: RootOpt = None,
) -> None:
    """Write the scaffold: experiment.yaml, README.md, results/."""
    from labrun.shared.experiments import layout, scaffold

    with experiments_run.clear_errors():
        exp = scaffold.create(root_of(root), name, use_case=use_case, model=model, description=description)
    typer.echo(f"created {layout.display(exp.directory)}/experiment.yaml: set dataset.path, then run it")


@app.command("list")
def list_(
    root: RootOpt = None, all_: Annotated[bool, typer.Option("--all", help="Archived too")] = False
) -> None:
    """Name, status, tags, last run, headline metric and cost of each experiment."""
    from labrun.cli.display import console
    from labrun.cli.experiments_view import acc, list_table
    from labrun.cli.services import ensure_services
    from labrun.shared.experiments import layout, load, summary
    from labrun.shared.storage.db.session import session_scope

    with experiments_run.clear_errors():
        base = root_of(root)
        specs = [load.load(base, n) for n in layout.list_names(base)]
    ensure_services()
    rows = []
    with session_scope() as s:
        for exp in specs:
            if exp.spec.status == "archived" and not all_:
                continue
            cells = summary.summarize(s, summary.latest_sweep(summary.experiment_runs(s, exp.spec.name)))
            best = cells[0] if cells else None
            rows.append(
                {
                    "name": exp.spec.name,
                    "status": exp.spec.status,
                    "tags": ", ".join(exp.spec.tags) or "-",
                    "last_run": best.created_at.strftime("%Y-%m-%d %H:%M") if best else "never",
                    "headline": f"{best.cell}: {acc(best)}" if best else "-",
                    "cost": f"${sum(c.cost_usd for c in cells):.4f}" if cells else "-",
                }
            )
    console.print(list_table(rows))


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Experiment name")], root: RootOpt = None) -> None:
    """The spec, its runs and their metrics."""
    from labrun.cli.display import console
    from labrun.cli.experiments_view import cells_table
    from labrun.cli.services import ensure_services
    from labrun.shared.experiments import load, summary, versions
    from labrun.shared.storage.db.session import session_scope

    with experiments_run.clear_errors():
        base = root_of(root)
        exp = load.load(base, name)
        tags = versions.list_versions(base, name)
    console.print(f"[bold]{exp.file}[/bold]  versions: {', '.join(tags) or 'none tagged'}")
    console.print(exp.text, markup=False, highlight=False)
    ensure_services()
    with session_scope() as s:
        cells = summary.summarize(s, summary.experiment_runs(s, name))
    console.print(cells_table(cells, f"runs of {name} (best first)") if cells else "no runs yet")


@app.command("archive")
def archive(name: Annotated[str, typer.Argument(help="Experiment name")], root: RootOpt = None) -> None:
    """Mark the experiment archived (its files and runs stay)."""
    from labrun.shared.experiments import scaffold

    with experiments_run.clear_errors():
        scaffold.archive(root_of(root), name)
    typer.echo(f"{name}: archived")
