"""Rich tables and the live progress view."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.db.session import session_scope
from shared.runs import queries
from shared.schemas import MetricOut, RunOut

FINAL = {"succeeded", "partial", "failed", "cancelled"}
console = Console()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def summary_table(run: RunOut, m: MetricOut) -> Table:
    """Key figures of one segment, one per line (fits an 80-column terminal)."""
    table = Table(title=f"{run.id}  model={run.model_alias}  status={run.status}", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value")
    levels = "  ".join(
        f"L{k} {_pct(v)}" for k, v in sorted(m.accuracy_by_level.items(), key=lambda kv: int(kv[0]))
    )
    errors = ", ".join(f"{k}={v}" for k, v in sorted(m.errors_by_type.items())) or "none"
    rows = [
        ("datapoints", f"{m.n} ({m.n_valid} valid, coverage {_pct(m.coverage)})"),
        ("accuracy (valid only)", f"{_pct(m.accuracy)}  ({m.n_correct}/{m.n_valid})"),
        ("accuracy by level", levels or "-"),
        ("macro-F1", "-" if m.macro_f1 is None else f"{m.macro_f1:.3f}"),
        ("errors", errors),
        ("cost", f"${m.cost_usd:.4f}  (${(m.cost_usd / m.n if m.n else 0):.6f}/row)"),
        ("tokens in / out", f"{m.prompt_tokens} / {m.completion_tokens}"),
        (
            "latency p50/p95/p99",
            f"{_ms(m.latency_p50_ms)} / {_ms(m.latency_p95_ms)} / {_ms(m.latency_p99_ms)} ms",
        ),
        ("attempts", str(m.attempts_total)),
        ("throughput", "-" if m.throughput_per_s is None else f"{m.throughput_per_s:.1f} rows/s"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


def segments_table(metrics: list[MetricOut], max_segments: int = 12) -> Table:
    table = Table(title="by top-level expected category")
    for col in ("segment", "n", "coverage", "accuracy", "L1 acc", "macro-F1", "errors"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    segs = [m for m in metrics if m.segment != "all"]
    for m in segs[:max_segments]:
        table.add_row(
            m.segment.removeprefix("level1="),
            str(m.n),
            _pct(m.coverage),
            _pct(m.accuracy),
            _pct(m.accuracy_by_level.get("1")),
            "-" if m.macro_f1 is None else f"{m.macro_f1:.3f}",
            str(sum(m.errors_by_type.values())),
        )
    if len(segs) > max_segments:
        table.caption = f"{len(segs) - max_segments} more segments (--all)"
    return table


def print_metrics(run: RunOut, metrics: list[MetricOut], max_segments: int = 12) -> None:
    overall = next((m for m in metrics if m.segment == "all"), None)
    if overall is not None:
        console.print(summary_table(run, overall))
    if len(metrics) > 1:
        console.print(segments_table(metrics, max_segments))


def runs_table(runs: list[RunOut]) -> Table:
    table = Table(title="runs")
    table.add_column("run", no_wrap=True)
    for col in ("model", "status", "done/total", "failed", "cost $", "created"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r.id,
            r.model_alias,
            r.status,
            f"{r.counts.done}/{r.counts.total}",
            str(r.counts.failed),
            f"{r.cost_usd:.4f}",
            f"{r.created_at:%H:%M:%S}",
        )
    return table


def fetch(run_id: str) -> RunOut:
    with session_scope() as s:
        return queries.get_run(s, run_id)


def watch(run_id: str, poll_s: float = 0.5, timeout_s: float | None = None) -> RunOut:
    """Live bar: done/total, rate, ETA, cost and errors; returns the final run."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    )
    run = fetch(run_id)
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(run_id[-9:], total=run.counts.total, info="")
        while True:
            run = fetch(run_id)
            rate = f"{run.rate_per_s:.1f}/s" if run.rate_per_s else "-/s"
            eta = f"ETA {run.eta_seconds:.0f}s" if run.eta_seconds is not None else "ETA -"
            errs = sum(run.errors_by_type.values())
            info = f"{rate}  {eta}  ${run.cost_usd:.4f}  errors {errs}  [{run.status}]"
            progress.update(task, completed=run.counts.done, info=info)
            if run.status in FINAL:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout_s} s")
            time.sleep(poll_s)
