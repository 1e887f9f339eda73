"""Interval estimates and a test for proportions, pure and exact enough to pin to published tables.

- :func:`wilson`: the Wilson score interval of one proportion (Newcombe 1998a, method 3).
- :func:`paired_difference`: the difference of two proportions measured on the same items, with
  method 10 of Newcombe (1998b), "Improved confidence intervals for the difference between
  binomial proportions based on paired data", Stat Med 17:2635-2650: each proportion's Wilson
  interval, combined around the observed difference with the correlation between the two
  (phi, with Newcombe's continuity correction).
- :func:`mcnemar_exact`: McNemar's test in its exact form, a binomial test on the discordant pairs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)  # 1.959964...: full precision reproduces the published tables


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __iter__(self) -> Iterator[float]:  # ``low, high = wilson(k, n)``
        return iter((self.low, self.high))


@dataclass(frozen=True)
class PairedTable:
    """Items judged under both conditions: right in both, only in the first, only in the second,
    in neither. Newcombe's a, b, c, d."""

    both: int
    only_first: int
    only_second: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.only_first + self.only_second + self.neither


@dataclass(frozen=True)
class PairedDifference:
    """``estimate`` = p(first) - p(second) = (only_first - only_second) / n, its interval, and the
    corrected correlation the interval used."""

    estimate: float
    ci: Interval
    phi: float


def wilson(k: int, n: int, z: float = Z95) -> Interval | None:
    """Wilson score interval (no continuity correction) of ``k`` successes in ``n``; None if n=0."""
    if n <= 0:
        return None
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    return Interval(low, 1.0 if k >= n else min(1.0, centre + half))


def corrected_phi(t: PairedTable) -> float:
    """Newcombe's phi: 0 when a margin is empty; a positive association ``ad - bc`` is reduced by
    n/2 (floored at 0), a negative one is kept as it is."""
    margins = (
        t.both + t.only_first,
        t.only_second + t.neither,
        t.both + t.only_second,
        t.only_first + t.neither,
    )
    if 0 in margins:
        return 0.0
    assoc: float = t.both * t.neither - t.only_first * t.only_second
    if assoc > t.n / 2:
        assoc -= t.n / 2
    elif assoc >= 0:
        assoc = 0.0
    return assoc / math.sqrt(math.prod(margins))


def paired_difference(t: PairedTable, z: float = Z95) -> PairedDifference | None:
    """Newcombe's method 10 for p(first) - p(second); None over zero pairs."""
    n = t.n
    first, second = wilson(t.both + t.only_first, n, z), wilson(t.both + t.only_second, n, z)
    if first is None or second is None:
        return None
    p1, p2 = (t.both + t.only_first) / n, (t.both + t.only_second) / n
    phi = corrected_phi(t)
    d1_low, d1_high = p1 - first.low, first.high - p1
    d2_low, d2_high = p2 - second.low, second.high - p2
    below = math.sqrt(max(0.0, d1_low**2 - 2 * phi * d1_low * d2_high + d2_high**2))
    above = math.sqrt(max(0.0, d1_high**2 - 2 * phi * d1_high * d2_low + d2_low**2))
    estimate = p1 - p2
    return PairedDifference(estimate, Interval(max(-1.0, estimate - below), min(1.0, estimate + above)), phi)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p: min(1, 2 P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2); 1.0
    without discordant pairs. Exact integers up to 2,000 discordant pairs, then log space."""
    n, m = b + c, min(b, c)
    if n == 0:
        return 1.0
    if n <= 2000:
        return min(1.0, 2 * _exact_tail(n, m) / 2**n)
    # from the largest term P(X = m) down: each earlier term is the last times i / (n - i + 1)
    term = math.exp(math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1) - n * math.log(2))
    tail = 0.0
    for i in range(m, -1, -1):
        tail += term
        term *= i / (n - i + 1)
        if term < tail * 1e-17:
            break
    return min(1.0, 2 * tail)


def _exact_tail(n: int, m: int) -> int:
    """C(n, 0) + ... + C(n, m), each term from the last: C(n, i + 1) = C(n, i) (n - i) / (i + 1)."""
    term = tail = 1
    for i in range(m):
        term = term * (n - i) // (i + 1)
        tail += term
    return tail
