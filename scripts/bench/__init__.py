"""Helpers of ``scripts/bench_ratelimit.py`` (a benchmark, not a test)."""
