"""Correctness of a predicted category path against the expected one, whole or per level.

Paths compare level by level after whitespace normalization and case folding. ``None`` means "not
scorable": no expected label, or an expected label with fewer levels than asked for.
"""

from __future__ import annotations

from labrun.shared.usecases.assign_cat.taxonomy import TaxonomyError, split_path


def levels(path: str | None) -> list[str] | None:
    """Normalized, case-folded levels of ``path``; None for a missing or blank path.

    A malformed path (an empty level, as in ``"A >> B"``) keeps its empty levels, so it never equals
    a well-formed one.
    """
    if path is None or not path.strip():
        return None
    try:
        return [part.casefold() for part in split_path(path)]
    except TaxonomyError:
        return [" ".join(part.split()).casefold() for part in path.split(">")]


def correct_at_level(predicted: str | None, expected: str | None, level: int) -> bool | None:
    """Do the first ``level`` levels (1 = top level) of ``predicted`` match those of ``expected``?"""
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    want = levels(expected)
    if want is None or len(want) < level:
        return None
    got = levels(predicted)
    return got is not None and got[:level] == want[:level]


def is_correct(predicted: str | None, expected: str | None) -> bool | None:
    """Is ``predicted`` the same path as ``expected``? None when there is no expected label."""
    want = levels(expected)
    if want is None:
        return None
    return levels(predicted) == want


def correct_by_level(predicted: str | None, expected: str | None) -> dict[int, bool]:
    """``{level: correct}`` for each level 1..depth of ``expected`` (empty without an expected label)."""
    want = levels(expected)
    if want is None:
        return {}
    got = levels(predicted) or []
    return {level: got[:level] == want[:level] for level in range(1, len(want) + 1)}
