"""A one-line-per-scenario markdown summary (medians over repeats), for docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

from bench.report import _fmt, medians


def markdown(results: list[dict[str, Any]]) -> str:
    head = "| scenario | n | labrun ok/s (overall / sustained) | baseline ok/s | labrun/baseline | share of limit | 429s | lost | dup | status | checks |"  # noqa: E501
    out = [head, "|" + "---|" * 11]
    for name in dict.fromkeys(r["scenario"] for r in results):
        runs = [r for r in results if r["scenario"] == name]
        lab, base, d = medians(runs, "labrun"), medians(runs, "baseline"), medians(runs, "derived")
        share = d.get("tpm_share", d.get("rpm_share"))
        checks = [ok for r in runs for name, ok, _ in r["checks"] if not name.startswith("(extra)")]
        out.append(
            f"| {name} | {lab['n']} | {lab['overall_rps']:.1f} / {lab['server_sustained_rps']:.1f} "
            f"| {_fmt('{:.1f}', base.get('overall_rps'))} | {_fmt('{:.2f}x', d.get('ratio_overall'))} "
            f"| {_fmt('{:.1%}', share)} | {lab['server_429']:.0f} ({lab['pct_429']:.2f}%) "
            f"| {lab['lost']:.0f} | {d['double_calls']:.0f} | {runs[-1]['status']} "
            f"| {sum(checks)}/{len(checks)} |"
        )
    return "\n".join(out)
