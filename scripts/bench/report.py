"""Derived figures, targets (PASS/FAIL) and the printed tables; medians over repeats."""

from __future__ import annotations

import statistics
from typing import Any

from bench.scenarios import TARGETS, Scenario


def derive(s: Scenario, lab: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    d: dict[str, Any] = {}
    rps = lab.get("server_sustained_rps", 0.0)
    if s.rpm:
        d["rpm_share"] = rps * 60 / s.rpm
    if s.tpm:
        d["tpm_share"] = rps * lab.get("tokens_per_request", 0.0) * 60 / s.tpm
    # 200 responses without a row that holds them: thrown away by an internal error, or double calls
    unstored = lab["server_ok"] - lab["with_response"]
    internal = lab["error_types"].get("internal", 0)
    d["discarded_ok"] = min(max(unstored, 0), internal)
    d["double_calls"] = max(0, unstored - internal)
    d["raw_minus_rows"] = lab["raw_objects"] - lab["rows"]
    d["untracked_calls"] = lab["server_requests"] - lab["attempts_total"]
    d["success_share"] = lab["succeeded"] / max(1, lab["n"])
    workers_cpu = sum(v for k, v in lab.items() if k.startswith("cpu_worker"))
    d["worker_cpu_ms_per_row"] = 1000 * workers_cpu / max(1, lab["rows"])
    d["evalsha_per_request"] = lab.get("redis_evalsha", 0.0) / max(1, lab["server_requests"])
    if base and base.get("overall_rps"):
        d["ratio_overall"] = lab["overall_rps"] / base["overall_rps"]
        d["ratio_sustained"] = rps / max(base["server_sustained_rps"], 1e-9)
    return d


def checks(s: Scenario, r: dict[str, Any]) -> list[tuple[str, bool, str]]:
    lab, d = r["labrun"], r["derived"]
    dup_ok = lab["duplicate_rows"] == 0 and d["double_calls"] == 0 and d["raw_minus_rows"] <= 0
    dup_text = f"dup rows={lab['duplicate_rows']}, double calls={d['double_calls']}"
    dup = ("0 duplicated (rows, provider calls)", dup_ok, dup_text)
    lost = ("0 lost", lab["lost"] == 0, f"lost={lab['lost']}")
    pct = ("429s <= 1% of requests", lab["pct_429"] <= 1.0, f"{lab['pct_429']:.2f}%")
    ok = ("(extra) run succeeded", r["status"] == "succeeded", f"{r['status']} {lab['error_types'] or ''}")
    if s.name in ("rpm", "tpm"):
        key, floor = ("rpm_share", 0.95) if s.name == "rpm" else ("tpm_share", 0.90)
        share = d.get(key, 0.0)
        return [
            (f"sustained >= {floor:.0%} of the {s.name} limit", share >= floor, f"{share:.2%}"),
            pct,
            lost,
            dup,
            ok,
        ]
    if s.name == "nolimit":
        ratio = d.get("ratio_overall", 0.0)
        return [("throughput >= 0.75x baseline", ratio >= 0.75, f"{ratio:.2f}x"), lost, dup, ok]
    if s.name == "errors":
        one = lab["rows"] == lab["n"] and lab["lost"] == 0 and lab["duplicate_rows"] == 0
        return [
            ("exactly one row per datapoint", one, f"rows={lab['rows']}/{lab['n']}"),
            (">= 99.9% succeed after retries", d["success_share"] >= 0.999, f"{d['success_share']:.2%}"),
            dup,
        ]
    once = lab["attempts_max"] == 1 and lab["attempts_min"] == 1
    return [
        ("attempts == 1 on every row", once, f"attempts {lab['attempts_min']}..{lab['attempts_max']}"),
        ("run ends failed (no datapoint succeeded)", r["status"] == "failed", r["status"]),
        (
            f"error_type {s.fail_mode} on every row",
            lab["error_types"] == {s.fail_mode: lab["n"]},
            str(lab["error_types"]),
        ),
        lost,
    ]


def median_of(values: list[Any]) -> Any:
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return statistics.median(nums) if len(nums) == len(values) and nums else values[-1]


def medians(runs: list[dict[str, Any]], side: str) -> dict[str, Any]:
    dicts = [r.get(side) or {} for r in runs]
    return {k: median_of([d.get(k) for d in dicts]) for k in {k for d in dicts for k in d}}


ROWS = [
    ("throughput overall, ok/s", "overall_rps", "{:.1f}"),
    ("sustained after 5 s, ok/s (server /stats)", "server_sustained_rps", "{:.1f}"),
    ("sustained after 5 s, rows/s (finished_at)", "rows_sustained_rps", "{:.1f}"),
    ("first request -> last result, s", "span_s", "{:.1f}"),
    ("provider requests", "server_requests", "{:.0f}"),
    ("429s", "server_429", "{:.0f}"),
    ("429s, % of requests", "pct_429", "{:.2f}"),
    ("injected 5xx answered", "server_5xx", "{:.0f}"),
    ("peak in flight (server)", "peak_in_flight", "{:.0f}"),
    ("rows", "rows", "{:.0f}"),
    ("succeeded", "succeeded", "{:.0f}"),
    ("lost rows", "lost", "{:.0f}"),
    ("attempts total", "attempts_total", "{:.0f}"),
    ("attempts max", "attempts_max", "{:.0f}"),
    ("machine CPU busy, % of all cores", "machine_busy_pct", "{:.0f}"),
    ("CPU s: worker1 + worker2 | client", "cpu_worker1_s", "{:.1f}"),
    ("CPU s: fake server", "cpu_fake_s", "{:.1f}"),
    ("limiter factor min / seconds below 1", "factor_min", "{:.2f}"),
]
DERIVED = ("rpm_share", "tpm_share", "ratio_overall", "ratio_sustained", "worker_cpu_ms_per_row",
           "evalsha_per_request", "discarded_ok", "double_calls")  # fmt: skip


def table(s: Scenario, runs: list[dict[str, Any]]) -> str:
    lab, base, d = medians(runs, "labrun"), medians(runs, "baseline"), medians(runs, "derived")
    base["cpu_worker1_s"] = base.get("cpu_client_s")
    lab["cpu_worker1_s"] = (lab.get("cpu_worker1_s") or 0) + (lab.get("cpu_worker2_s") or 0)
    k = len(runs)
    reps = f"median of {k} runs" if k > 1 else "1 run"
    lines = [
        f"== {s.name}: {s.description} (n={s.n}, {s.workers} workers x {s.concurrency}, rpm={s.rpm}, "
        f"tpm={s.tpm}, burst={s.burst_s}s{_labrun_burst(s)}; {reps}) ==",
        f"{'metric':44} {'labrun':>12} {'baseline':>12}",
    ]
    for label, key, fmt in ROWS:
        lv, bv = _fmt(fmt, lab.get(key)), _fmt(fmt, base.get(key))
        if key == "factor_min":
            lv, bv = f"{lv} / {lab.get('factor_below_1_s', 0):.0f}", ""
        lines.append(f"{label:44} {lv:>12} {bv:>12}")
    lines += [f"{key:44} {d[key]:>12.3f}" for key in DERIVED if key in d]
    lines.append(f"run status: {runs[-1]['status']}; error types: {runs[-1]['labrun']['error_types']}")
    lines.append(f"target: {TARGETS[s.name]}")
    for r in runs:
        tag = f"  [repeat {r['repeat']}]" if k > 1 else ""
        lines += [f"  {'PASS' if ok else 'FAIL'}  {name}: {value}{tag}" for name, ok, value in r["checks"]]
    return "\n".join(lines)


def _labrun_burst(s: Scenario) -> str:
    from labrun.shared.core.catalog import RateLimits

    return f" (labrun {s.labrun_burst_s or RateLimits().burst_seconds}s)"


def _fmt(fmt: str, v: Any) -> str:
    return "-" if v is None else fmt.format(v)
