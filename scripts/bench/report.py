"""Derived figures, targets (PASS/FAIL) and the printed table of a scenario; medians over repeats."""

from __future__ import annotations

import statistics
from typing import Any

from bench.scenarios import TARGETS, Scenario

# check name -> (how repeats are combined, test)
Check = tuple[str, Any, str]


def derive(s: Scenario, lab: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    d: dict[str, Any] = {}
    rps = lab.get("server_sustained_rps", 0.0)
    if s.rpm:
        d["rpm_share"] = rps * 60 / s.rpm
    if s.tpm:
        d["tpm_share"] = rps * lab.get("tokens_per_request", 0.0) * 60 / s.tpm
    d["double_calls"] = lab["server_ok"] - lab["with_response"]
    d["raw_minus_rows"] = lab["raw_objects"] - lab["rows"]
    d["untracked_calls"] = lab["server_requests"] - lab["attempts_total"]
    d["success_share"] = lab["succeeded"] / max(1, lab["n"])
    if base and base.get("overall_rps"):
        d["ratio_overall"] = lab["overall_rps"] / base["overall_rps"]
        d["ratio_sustained"] = rps / max(base["server_sustained_rps"], 1e-9)
    return d


def checks(s: Scenario, r: dict[str, Any]) -> list[tuple[str, bool, str]]:
    lab, d = r["labrun"], r["derived"]
    dup_ok = lab["duplicate_rows"] == 0 and d["double_calls"] == 0 and d["raw_minus_rows"] == 0
    dup = ("0 duplicated (rows, raw objects, provider calls)", dup_ok, _dup_text(lab, d))
    lost = ("0 lost", lab["lost"] == 0, f"lost={lab['lost']}")
    pct = ("429s <= 1% of requests", lab["pct_429"] <= 1.0, f"{lab['pct_429']:.2f}%")
    if s.name == "rpm":
        share = d.get("rpm_share", 0.0)
        return [("sustained >= 95% of the rpm limit", share >= 0.95, f"{share:.1%}"), pct, lost, dup]
    if s.name == "tpm":
        share = d.get("tpm_share", 0.0)
        return [("sustained >= 90% of the tpm limit", share >= 0.90, f"{share:.1%}"), pct, lost, dup]
    if s.name == "nolimit":
        ratio = d.get("ratio_overall", 0.0)
        return [("throughput >= 0.75x baseline", ratio >= 0.75, f"{ratio:.2f}x"), lost, dup]
    if s.name == "errors":
        one = lab["rows"] == lab["n"] and lab["lost"] == 0 and lab["duplicate_rows"] == 0
        ok = d["success_share"] >= 0.999
        return [
            ("exactly one row per datapoint", one, f"rows={lab['rows']}/{lab['n']}"),
            (">= 99.9% succeed after retries", ok, f"{d['success_share']:.2%}"),
            dup,
        ]
    once = lab["attempts_max"] == 1 and lab["attempts_min"] == 1
    types_ok = lab["error_types"] == {s.fail_mode: lab["n"]}
    return [
        ("attempts == 1 on every row", once, f"attempts {lab['attempts_min']}..{lab['attempts_max']}"),
        ("run ends partial", r["status"] == "partial", r["status"]),
        (f"every row error_type={s.fail_mode}", types_ok, str(lab["error_types"])),
        lost,
    ]


def _dup_text(lab: dict[str, Any], d: dict[str, Any]) -> str:
    return (
        f"dup rows={lab['duplicate_rows']}, raw-rows={d['raw_minus_rows']}, "
        f"ok-responses={d['double_calls']}, calls-attempts={d['untracked_calls']}"
    )


def median_of(values: list[Any]) -> Any:
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return statistics.median(nums) if len(nums) == len(values) and nums else values[-1]


ROWS = [
    ("throughput overall, ok/s", "overall_rps", "{:.1f}"),
    ("sustained after 5 s, ok/s (server)", "server_sustained_rps", "{:.1f}"),
    ("sustained after 5 s, rows/s (finished_at)", "rows_sustained_rps", "{:.1f}"),
    ("span first request -> last result, s", "span_s", "{:.1f}"),
    ("provider requests", "server_requests", "{:.0f}"),
    ("429s", "server_429", "{:.0f}"),
    ("429s, % of requests", "pct_429", "{:.2f}"),
    ("injected 5xx", "server_5xx", "{:.0f}"),
    ("peak in flight (server)", "peak_in_flight", "{:.0f}"),
    ("rows / succeeded", None, None),
    ("lost rows", "lost", "{:.0f}"),
    ("attempts: total / max", None, None),
]


def table(s: Scenario, runs: list[dict[str, Any]]) -> str:
    med = {
        side: _median_dict([r.get(side) or {} for r in runs]) for side in ("labrun", "baseline", "derived")
    }
    lab, base, d = med["labrun"], med["baseline"], med["derived"]
    k = len(runs)
    head = f"== {s.name}: {s.description} (n={s.n}, {s.workers} workers x {s.concurrency}"
    head += f", rpm={s.rpm}, tpm={s.tpm}; {'median of ' + str(k) if k > 1 else '1 run'}) =="
    lines = [head, f"{'metric':44} {'labrun':>14} {'baseline':>14}"]
    for label, key, fmt in ROWS:
        if key is None and label.startswith("rows"):
            lv, bv = (
                f"{lab.get('rows')}/{lab.get('succeeded')}",
                f"{base.get('rows')}/{base.get('succeeded')}",
            )
        elif key is None:
            lv = f"{lab.get('attempts_total')}/{lab.get('attempts_max')}"
            bv = f"{base.get('attempts_total')}/{base.get('attempts_max')}"
        else:
            lv, bv = _fmt(fmt, lab.get(key)), _fmt(fmt, base.get(key))
        lines.append(f"{label:44} {lv:>14} {bv:>14}")
    for key in ("rpm_share", "tpm_share", "ratio_overall", "ratio_sustained"):
        if key in d:
            lines.append(f"{key:44} {d[key]:>14.3f}")
    lines.append(f"run status: {runs[-1]['status']}; error types: {lab.get('error_types')}")
    lines.append(f"target: {TARGETS[s.name]}")
    for r in runs:
        for name, ok, value in r["checks"]:
            lines.append(f"  {'PASS' if ok else 'FAIL'}  {name}: {value}" + (f"  [repeat {r['repeat']}]"))
    return "\n".join(lines)


def _median_dict(dicts: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {k for d in dicts for k in d}
    return {k: median_of([d.get(k) for d in dicts]) for k in keys}


def _fmt(fmt: str, v: Any) -> str:
    return "-" if v is None else fmt.format(v)
