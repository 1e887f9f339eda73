"""How ``labrun compare`` prints a comparison: the runs side by side, the paired difference, the
segments, and a page of flipped datapoints."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labrun.shared.analysis.schemas import Comparison, FlipPage, IntervalOut, PairedOut, RunSide

MAX_SEGMENTS = 12


def acc(x: float | None, ci: IntervalOut | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f} [{ci.low:.2f}, {ci.high:.2f}]" if ci else f"{x:.2f}"


def delta(d: float | None, ci: IntervalOut | None) -> str:
    if d is None:
        return "-"
    return f"{d:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}]" if ci else f"{d:+.3f}"


def p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _ms(x: float | None, sign: bool = False) -> str:
    return "-" if x is None else (f"{x:+.0f} ms" if sign else f"{x:.0f} ms")


def _usd(x: float | None, digits: int = 4, sign: bool = False) -> str:
    if x is None:
        return "-"
    return f"{'-' if x < 0 else '+' if sign else ''}${abs(x):.{digits}f}"


def runs_table(c: Comparison) -> Table:
    t = Table(title="B against A, each over its own rows")
    for col in ("", "A", "B", "B - A"):
        t.add_column(col, justify="left" if not col else "right")

    def row(label: str, f: str, diff: str = "") -> None:
        t.add_row(label, *(_cell(side, f) for side in (c.a, c.b)), diff)

    row("model", "model_alias")
    row("datapoints", "n")
    row("coverage", "coverage")
    row("accuracy", "accuracy")
    row("judged right", "judged")
    row("cost", "cost_usd", _usd(c.deltas.cost_usd, sign=True))
    row("cost per row", "cost_per_row_usd", _usd(c.deltas.cost_per_row_usd, 6, sign=True))
    row("latency p50", "latency_p50_ms", _ms(c.deltas.latency_p50_ms, sign=True))
    row("latency p95", "latency_p95_ms", _ms(c.deltas.latency_p95_ms, sign=True))
    return t


def _cell(s: RunSide, field: str) -> str:
    if field == "coverage":
        return "-" if s.coverage is None else f"{s.coverage:.2f} ({s.n_answered}/{s.n})"
    if field == "accuracy":
        return acc(s.accuracy, s.accuracy_ci)
    if field == "judged":
        return f"{s.n_correct}/{s.n_judged}"
    if field == "cost_usd":
        return _usd(s.cost_usd)
    if field == "cost_per_row_usd":
        return _usd(s.cost_per_row_usd, 6)
    if field.startswith("latency"):
        return _ms(getattr(s, field))
    return escape(str(getattr(s, field)))


def paired_lines(c: Comparison) -> list[str]:
    p, o = c.paired, c.overlap
    lines = [f"paired: {p.n} datapoints judged in both runs ({o.n_shared} shared, {o.n_excluded} excluded)"]
    if p.n:
        lines += [
            f"  accuracy A {p.accuracy_a:.2f} -> B {p.accuracy_b:.2f}   B - A {delta(p.delta, p.delta_ci)}"
            f"  (95% CI, Newcombe)",
            f"  McNemar exact p {'< 0.001' if p.mcnemar_p < 0.001 else f'= {p.mcnemar_p:.3f}'}",
            f"  flips: A right & B wrong {p.a_only}, A wrong & B right {p.b_only}  (--flips a|b lists them)",
        ]
    return lines


def segments_table(c: Comparison) -> Table:
    t = Table(title="paired, by segment (run A's use case)")
    for col in ("segment", "n", "A", "B", "B - A [95% CI]", "p"):
        t.add_column(col, justify="left" if col == "segment" else "right")
    for s in c.segments[:MAX_SEGMENTS]:
        t.add_row(escape(s.segment.partition("=")[2] or s.segment), *_paired_cells(s))
    if len(c.segments) > MAX_SEGMENTS:
        t.caption = f"{len(c.segments) - MAX_SEGMENTS} more segments (--json)"
    return t


def _paired_cells(s: PairedOut) -> tuple[str, ...]:
    a, b = ("-" if x is None else f"{x:.2f}" for x in (s.accuracy_a, s.accuracy_b))
    return str(s.n), a, b, delta(s.delta, s.delta_ci), p_value(s.mcnemar_p)


def flips_table(page: FlipPage) -> Table:
    what = "A right, B wrong" if page.direction == "a_only" else "A wrong, B right"
    t = Table(title=f"{what}: {page.total} datapoints")
    for col in ("id", "expected", "A answered", "B answered"):
        t.add_column(col, overflow="fold")
    for f in page.items:
        t.add_row(*(escape(x or "-") for x in (f.external_id, f.expected, f.parsed_a, f.parsed_b)))
    if page.total > page.offset + len(page.items):
        t.caption = f"first {len(page.items)} shown (--limit)"
    return t


def print_comparison(console: Console, c: Comparison, page: FlipPage | None = None) -> None:
    for tag, s in (("A", c.a), ("B", c.b)):
        console.print(f"{tag}  {escape(s.id)}  {escape(s.use_case)}  {s.status}", highlight=False)
    for note in c.notes:
        console.print(f"note: {escape(note)}", style="yellow", highlight=False)
    console.print(runs_table(c))
    for line in paired_lines(c):
        console.print(line, highlight=False)
    if c.segments and c.paired.n:
        console.print(segments_table(c))
    if page is not None:
        console.print(flips_table(page))
