"""How ``labrun show RUN --by FIELD`` prints a run's figures by segment: one row per value (or
bucket) with its size, coverage, accuracy and 95% Wilson interval, cost, latency and errors."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labrun.cli.display import accuracy_ci
from labrun.shared.analysis.segments import SegmentRow, Segments
from labrun.shared.core.schemas import RunOut

COLUMNS = ("n", "coverage", "accuracy [95% CI]", "cost", "p50/p95 ms", "errors")


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def _cells(s: SegmentRow) -> tuple[str, ...]:
    return (
        str(s.n),
        "-" if s.coverage is None else f"{100 * s.coverage:.1f}%",
        accuracy_ci(s.n_correct, s.n_judged),
        f"${s.cost_usd:.4f}",
        f"{_ms(s.latency_p50_ms)}/{_ms(s.latency_p95_ms)}",
        str(s.errors),
    )


def segments_table(run: RunOut, seg: Segments, max_segments: int = 25) -> Table:
    """Fits an 80-column terminal for segment names up to about 20 characters."""
    table = Table(
        title=f"{escape(run.id)}  {escape(run.model_alias)}  by {escape(seg.by)}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("segment", overflow="fold")
    for col in COLUMNS:
        table.add_column(col, justify="right", no_wrap=col.startswith("accuracy"))
    for s in seg.segments[:max_segments]:
        table.add_row(escape(s.segment), *_cells(s))
    notes = ["accuracy: right/judged (valid, with a verdict)", "coverage: valid/rows"]
    if seg.bucketed:
        notes.append("buckets [low, high)")
    if len(seg.segments) > max_segments:
        notes.append(f"{len(seg.segments) - max_segments} more segments (--all)")
    table.caption = "; ".join(notes)
    return table


def print_segments(console: Console, run: RunOut, results: list[Segments], max_segments: int = 25) -> None:
    for seg in results:
        if not seg.segments:
            console.print(f"{escape(run.id)}: no predictions yet to segment by {escape(seg.by)}")
            continue
        console.print(segments_table(run, seg, max_segments))
