"""Category paths: `` > ``-joined levels, split and joined with whitespace normalized."""

from __future__ import annotations

from collections.abc import Iterable

SEP = " > "


class TaxonomyError(ValueError):
    """A malformed taxonomy or category path."""


def split_path(path: str) -> list[str]:
    """``"A >  B>C"`` -> ``["A", "B", "C"]``; inner whitespace runs become one space."""
    parts = [" ".join(p.split()) for p in path.split(">")]
    if not all(parts):
        raise TaxonomyError(f"empty part in category path {path!r}")
    return parts


def join_path(parts: Iterable[str]) -> str:
    return SEP.join(parts)
