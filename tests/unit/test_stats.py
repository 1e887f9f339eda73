"""The statistics of ``labrun compare`` against published worked examples (4 decimals, as printed)."""

from __future__ import annotations

import math

import pytest

from labrun.shared.analysis.stats import (
    Z95,
    PairedTable,
    corrected_phi,
    mcnemar_exact,
    paired_difference,
    wilson,
)

pytestmark = pytest.mark.unit


# Newcombe RG (1998a), "Two-sided confidence intervals for the single proportion: comparison of
# seven methods", Stat Med 17:857-872, Table I, method 3 (score interval, no continuity correction).
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombe_1998a(k, n, low, high):
    ci = wilson(k, n)
    assert ci is not None
    assert (round(ci.low, 4), round(ci.high, 4)) == (low, high)


def test_wilson_edges():
    assert wilson(0, 0) is None
    assert wilson(0, 20).low == 0.0 and wilson(20, 20).high == 1.0
    low, high = wilson(29, 29)  # unpacks like a tuple
    assert (round(low, 4), high) == (0.8830, 1.0)  # the mirror of 0/29
    assert Z95 == pytest.approx(1.959964, abs=1e-6)


# Newcombe RG (1998b), "Improved confidence intervals for the difference between binomial
# proportions based on paired data", Stat Med 17:2635-2650, Table III, method 10: the paper's
# examples (a, b, c, d) = (both, first only, second only, neither) and the interval of
# (a + b)/n - (a + c)/n.
NEWCOMBE_1998B = [
    ((36, 12, 2, 0), 0.2, (0.0569, 0.3404)),
    ((20, 12, 2, 16), 0.2, (0.0562, 0.3292)),
    ((18, 12, 2, 18), 0.2, (0.0562, 0.3290)),
    ((36, 14, 0, 0), 0.28, (0.1528, 0.4167)),
    ((35, 14, 0, 1), 0.28, (0.1461, 0.4175)),
    ((18, 14, 0, 18), 0.28, (0.1441, 0.3963)),
    ((2, 97, 1, 0), 0.96, (0.8721, 0.9854)),
]


@pytest.mark.parametrize(("cells", "estimate", "ci"), NEWCOMBE_1998B)
def test_paired_difference_matches_newcombe_1998b_method_10(cells, estimate, ci):
    d = paired_difference(PairedTable(*cells))
    assert d is not None
    assert d.estimate == pytest.approx(estimate)
    assert (round(d.ci.low, 4), round(d.ci.high, 4)) == ci


def test_paired_difference_matches_fagerland_lydersen_laake():
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8:
    # complete response before and after consolidation therapy (Cavo et al. 2012),
    # [[59, 6], [16, 80]]: estimate -0.0621, Newcombe square-and-add 95% CI -0.1186 to -0.0046.
    d = paired_difference(PairedTable(59, 6, 16, 80))
    assert d is not None
    assert (round(d.estimate, 4), round(d.ci.low, 4), round(d.ci.high, 4)) == (-0.0621, -0.1186, -0.0046)


def test_phi_correction_and_edges():
    # ad - bc = 36*0 - 12*2 < 0: kept; (20,12,2,16): 320 - 24 = 296 > n/2 = 25 -> 271
    assert corrected_phi(PairedTable(36, 12, 2, 0)) == pytest.approx(-24 / math.sqrt(48 * 2 * 38 * 12))
    assert corrected_phi(PairedTable(20, 12, 2, 16)) == pytest.approx(271 / math.sqrt(32 * 18 * 22 * 28))
    assert corrected_phi(PairedTable(1, 0, 0, 1)) == 0.0  # 0 <= ad - bc <= n/2
    assert corrected_phi(PairedTable(5, 0, 0, 0)) == 0.0  # an empty margin
    assert paired_difference(PairedTable(0, 0, 0, 0)) is None
    same = paired_difference(PairedTable(10, 0, 0, 10))
    assert same is not None and same.estimate == 0 and same.ci.low < 0 < same.ci.high
    swapped = paired_difference(PairedTable(36, 2, 12, 0))  # the mirror image of the first example
    assert swapped is not None
    assert (round(swapped.ci.low, 4), round(swapped.ci.high, 4)) == (-0.3404, -0.0569)
    assert paired_difference(PairedTable(0, 50, 0, 0)).ci.high == 1.0  # type: ignore[union-attr]


def test_mcnemar_exact_matches_armitage_berry():
    # Armitage & Berry, "Statistical Methods in Medical Research" (3rd ed. 1994, p. 127), as worked
    # in StatsDirect's exact matched-pairs test: two culture media on 50 sputum specimens,
    # discordant pairs 12 and 2 -> two-sided P = 0.0129 (= 2 * 106 / 2**14 = 0.012939...).
    assert round(mcnemar_exact(12, 2), 4) == 0.0129
    assert mcnemar_exact(12, 2) == mcnemar_exact(2, 12) == 2 * (1 + 14 + 91) / 2**14


def test_mcnemar_exact_edges_and_large_counts():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0  # capped at 1
    assert mcnemar_exact(0, 1) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    # beyond 2,000 discordant pairs the tail is summed in log space: same value to 1e-10
    for b, c in [(1300, 1200), (2600, 2400), (10_000, 9_700)]:
        n, m, term, tail = b + c, min(b, c), 1, 1
        for i in range(m):  # C(n, i + 1) from C(n, i), in integers
            term = term * (n - i) // (i + 1)
            tail += term
        exact = 2 * tail / 2**n
        assert mcnemar_exact(b, c) == pytest.approx(exact, rel=1e-10)
    assert mcnemar_exact(60_000, 40_000) == 0.0  # underflows, far below any threshold
