"""Rich tables and the live progress view."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from labrun.shared.analysis.stats import wilson
from labrun.shared.core.schemas import MetricOut, RunOut
from labrun.shared.runs import queries
from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases import registry

console = Console()
err_console = Console(stderr=True)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def accuracy_ci(k: int, n: int) -> str:
    """``85.0% [80.1, 89.0]``: ``k`` right of ``n`` judged, with its 95% Wilson interval."""
    ci = wilson(k, n)
    return "-" if ci is None else f"{100 * k / n:.1f}% [{100 * ci.low:.1f}, {100 * ci.high:.1f}]"


def judged(m: MetricOut) -> int:
    """The accuracy's denominator (valid rows with a verdict). A metrics row keeps it only as
    ``accuracy = n_correct / judged``, so it is recovered from the two; with no answer right it
    is taken as ``n_valid`` (the same unless some valid rows had no expected value)."""
    if m.accuracy is None:
        return 0
    return round(m.n_correct / m.accuracy) if m.accuracy > 0 else m.n_valid


def summary_table(run: RunOut, m: MetricOut) -> Table:
    """Key figures of one segment, one per line (fits an 80-column terminal)."""
    table = Table(title=f"{run.id}  model={run.model_alias}  status={run.status}", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value")
    use_case = registry.get(run.use_case)
    errors = ", ".join(f"{k}={v}" for k, v in sorted(m.errors_by_type.items())) or "none"
    rows = [
        ("datapoints", f"{m.n} ({m.n_valid} valid, coverage {_pct(m.coverage)})"),
        (
            "accuracy (valid only)",
            f"{accuracy_ci(m.n_correct, judged(m))} 95% CI; {m.n_correct}/{judged(m)}; coverage {_pct(m.coverage)}",
        ),
        *use_case.metric_lines(m.extra),
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


def segments_table(run: RunOut, metrics: list[MetricOut], max_segments: int = 12) -> Table:
    use_case = registry.get(run.use_case)
    segs = [m for m in metrics if m.segment != "all"]
    extra_cols = list(use_case.segment_cells(segs[0].extra)) if segs else []
    table = Table(title=use_case.segments_title)
    for col in ("segment", "n", "coverage", "accuracy [95% CI]", *extra_cols, "macro-F1", "errors"):
        table.add_column(col, justify="left" if col == "segment" else "right", no_wrap=col.startswith("acc"))
    for m in segs[:max_segments]:
        cells = use_case.segment_cells(m.extra)
        table.add_row(
            m.segment.partition("=")[2] or m.segment,
            str(m.n),
            _pct(m.coverage),
            accuracy_ci(m.n_correct, judged(m)),
            *(cells.get(c, "-") for c in extra_cols),
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
        console.print(segments_table(run, metrics, max_segments))
    if overall is not None:
        for renderable in use_case_tables(run, overall):
            console.print(renderable)


def use_case_tables(run: RunOut, m: MetricOut) -> list[Table]:
    """The use case's own tables of the run (e.g. per-label scores, a confusion matrix)."""
    out = []
    for title, (columns, rows) in registry.get(run.use_case).report_tables(m.extra).items():
        table = Table(title=title)
        for i, col in enumerate(columns):
            table.add_column(str(col), justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        out.append(table)
    return out


def _cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "-" if v is None else str(v)


def runs_table(runs: list[RunOut]) -> Table:
    """Fits 80 columns: the id whole (what other commands take) over its model, the status over
    its failures, the creation date over its time."""
    table = Table(title="runs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("run / model", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("done", justify="right", no_wrap=True)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True, min_width=10)
    for r in runs:
        failed = f"\n[red]{r.counts.failed} failed[/red]" if r.counts.failed else ""
        table.add_row(
            f"{r.id}\n[dim]{r.model_alias}[/dim]",
            f"{r.status}{failed}",
            f"{r.counts.done}/{r.counts.total}",
            f"${r.cost_usd:.4f}",
            f"{r.created_at:%Y-%m-%d}\n{r.created_at:%H:%M:%S}",
        )
    return table


def fetch(run_id: str) -> RunOut:
    with session_scope() as s:
        return queries.get_run(s, run_id)


NO_WORKER_HINT_S = 15.0
PLAIN_EVERY_S = 5.0  # progress lines when the output is not a terminal


def _line(run: RunOut) -> str:
    rate = f"{run.rate_per_s:.1f}/s" if run.rate_per_s else "-/s"
    eta = f"ETA {run.eta_seconds:.0f}s" if run.eta_seconds is not None else "ETA -"
    errs = sum(run.errors_by_type.values())
    return f"{rate}  {eta}  ${run.cost_usd:.4f}  errors {errs}  [{run.status}]"


def _hint(run: RunOut, waited_s: float, shown: bool) -> bool:
    """Say once when nothing has moved for a while: usually no worker is listening."""
    if shown or waited_s < NO_WORKER_HINT_S or run.counts.done or run.final:
        return shown
    err_console.print(
        f"no worker has taken this run's tasks in {waited_s:.0f} s; start one with `labrun worker` "
        "(or check `labrun embedded status`)"
    )
    return True


def watch(
    run_id: str, poll_s: float = 0.5, timeout_s: float | None = None, get: Callable[[str], RunOut] = fetch
) -> RunOut:
    """Live bar: done/total, rate, ETA, cost and errors; returns the final run. ``get`` reads the
    run (from the database; the API's client in remote mode). When the output is not a terminal,
    a plain progress line every few seconds instead of a bar."""
    started = time.monotonic()
    deadline = None if timeout_s is None else started + timeout_s
    if not console.is_terminal:
        return _watch_plain(run_id, poll_s, deadline, get)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    )
    run, hinted = get(run_id), False
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(run_id[-9:], total=run.counts.total, info="")
        while True:
            run = get(run_id)
            progress.update(task, completed=run.counts.done, total=run.counts.total, info=_line(run))
            if run.final:
                return run
            hinted = _hint(run, time.monotonic() - started, hinted)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout_s} s")
            time.sleep(poll_s)


def _watch_plain(run_id: str, poll_s: float, deadline: float | None, get: Callable[[str], RunOut]) -> RunOut:
    started, last, hinted = time.monotonic(), -PLAIN_EVERY_S, False
    while True:
        run = get(run_id)
        now = time.monotonic()
        if run.final or now - last >= PLAIN_EVERY_S:
            print(f"{run_id}: {run.counts.done}/{run.counts.total}  {_line(run)}", flush=True)
            last = now
        if run.final:
            return run
        hinted = _hint(run, now - started, hinted)
        if deadline is not None and now > deadline:
            raise TimeoutError(f"run {run_id} still {run.status} after {deadline - started:.0f} s")
        time.sleep(poll_s)
