"""Tables of ``labrun experiments``: the experiments, a sweep's ranked cells, dry-run estimates."""

from __future__ import annotations

from rich import box
from rich.table import Table

from labrun.shared.experiments.summary import CellSummary
from labrun.shared.runs.estimate import Estimate
from labrun.shared.runs.lifecycle import RunStatus


def acc(c: CellSummary, coverage: bool = True) -> str:
    if c.accuracy is None:
        return "-"
    ci = f" [{c.ci[0]:.2f}, {c.ci[1]:.2f}]" if c.ci else ""
    cov = f" cov {c.coverage:.2f}" if coverage and c.coverage is not None else ""
    return f"{c.accuracy:.2f}{ci}{cov}"


def cells_table(cells: list[CellSummary], title: str) -> Table:
    """Fits 80 columns: each cell's run id whole under its label (the id is what the next command
    takes)."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("#", justify="right")
    t.add_column("cell / run", no_wrap=True)
    t.add_column("accuracy [95% CI]", no_wrap=True)
    t.add_column("cov", justify="right")
    t.add_column("cost", justify="right", no_wrap=True)
    for i, c in enumerate(cells, 1):
        cov = f"{c.coverage:.2f}" if c.coverage is not None else "-"
        cell = c.cell if c.status == RunStatus.SUCCEEDED else f"{c.cell} ({c.status})"
        t.add_row(str(i), f"{cell}\n[dim]{c.run_id}[/dim]", acc(c, coverage=False), cov, f"${c.cost_usd:.4f}")
    return t


def estimates_table(rows: list[tuple[str, Estimate]]) -> Table:
    t = Table(title="dry run: nothing sent", title_justify="left")
    for col in ("cell", "rows", "input tokens", "output tokens", "cost", "duration"):
        t.add_column(col, justify="left" if col == "cell" else "right")
    for label, e in rows:
        dur = f"{e.duration_s:.0f} s" if e.duration_s is not None else "no limit set"
        t.add_row(
            label, str(e.rows), f"{e.input_tokens:,}", f"{e.output_tokens:,}", f"${e.cost_usd:.4f}", dur
        )
    if rows:
        total = sum(e.cost_usd for _, e in rows)
        t.caption = f"total ${total:.4f}; {rows[0][1].basis}"
    return t


def list_table(rows: list[dict[str, str]]) -> Table:
    t = Table(title="experiments", title_justify="left")
    for col in ("name", "status", "tags", "last run", "headline", "cost"):
        t.add_column(col)
    for r in rows:
        t.add_row(*(r.get(k, "-") for k in ("name", "status", "tags", "last_run", "headline", "cost")))
    return t
