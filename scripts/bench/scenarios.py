"""The benchmark scenarios: fake-server settings, labrun limits, workload size and targets."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scenario:
    name: str
    n: int  # datapoints
    latency_s: float
    rpm: float | None = None  # provider limits (fake server) = labrun's configured limits
    tpm_share: float | None = None  # tpm = share x rpm x tokens per request (set from the workload)
    tpm: float | None = None
    burst_s: float = 2.0  # the provider's bucket depth, seconds of the rate
    labrun_burst_s: float | None = None  # labrun's configured burst_seconds (default: burst_s)
    error_rate: float = 0.0
    fail_mode: str | None = None
    workers: int = 2
    concurrency: int = 100
    max_candidates: int = 20
    description: str = ""

    def server_args(self) -> list[str]:
        args = ["--latency", str(self.latency_s), "--burst-s", str(self.burst_s)]
        if self.rpm:
            args += ["--rpm", str(self.rpm)]
        if self.tpm:
            args += ["--tpm", str(self.tpm)]
        if self.error_rate:
            args += ["--error-rate", str(self.error_rate)]
        if self.fail_mode:
            args += ["--fail-mode", self.fail_mode]
        return args

    def labrun_limits(self) -> dict[str, object]:
        limits: dict[str, object] = {"scope": "model"}
        if self.rpm:
            limits["requests_per_min"] = self.rpm
        if self.tpm:
            limits["tokens_per_min"] = self.tpm
        if len(limits) == 1:
            return {}
        if self.labrun_burst_s:  # else labrun's default burst_seconds
            limits["burst_seconds"] = self.labrun_burst_s
        return limits


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("rpm", 6000, 0.5, rpm=3000, description="3,000 requests/min, 0.5 s latency"),
        Scenario(
            "tpm", 6000, 0.5, rpm=3000, tpm_share=0.6, description="tokens/min binds at ~60% of the rpm"
        ),
        Scenario("nolimit", 5000, 0.2, description="no limit, 0.2 s latency"),
        Scenario("errors", 3000, 0.5, rpm=3000, error_rate=0.05, description="5% injected 500/503/529"),
        Scenario("quota", 500, 0.5, rpm=3000, fail_mode="quota", description="every call: 429 quota"),
        Scenario("auth", 500, 0.5, rpm=3000, fail_mode="auth", description="every call: 401"),
    )
}

# Targets, checked in report.py. "share" figures are fractions of the provider's limit.
TARGETS = {
    "rpm": "sustained >= 95% of the rpm limit; 429s <= 1%; 0 lost; 0 duplicated",
    "tpm": "sustained >= 90% of the tpm limit; 429s <= 1%; 0 lost; 0 duplicated",
    "nolimit": "throughput >= 0.75x the asyncio baseline; 0 lost; 0 duplicated",
    "errors": "exactly one row per datapoint; >= 99.9% succeeded",
    "quota": "attempts == 1 on every row; run failed; error type quota",
    "auth": "attempts == 1 on every row; run failed; error type auth",
}


def resolve(
    name: str,
    n: int | None,
    quick: bool,
    workers: int | None,
    concurrency: int | None,
    labrun_burst_s: float | None = None,
) -> Scenario:
    s = replace(SCENARIOS[name], labrun_burst_s=labrun_burst_s)
    if n is not None:
        s = replace(s, n=n)
    elif quick:
        s = replace(s, n=max(200, s.n // 10))
    if workers is not None:
        s = replace(s, workers=workers)
    if concurrency is not None:
        s = replace(s, concurrency=concurrency)
    return s


def with_tpm(s: Scenario, tokens_per_request: float) -> Scenario:
    """Set the tokens/min limit so that it allows ``tpm_share`` of the rpm at this request size."""
    if s.tpm_share is None or not s.rpm:
        return s
    return replace(s, tpm=round(s.tpm_share * s.rpm * tokens_per_request))
