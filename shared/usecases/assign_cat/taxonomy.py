"""A category taxonomy: a sorted set of `` > ``-joined paths.

:meth:`Taxonomy.shortlist` ranks the paths with the keyword index of
:mod:`labrun.shared.usecases.assign_cat.shortlist`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from labrun.shared.usecases.assign_cat.paths import SEP, TaxonomyError, join_path, split_path
from labrun.shared.usecases.assign_cat.shortlist import _ShortlistIndex

__all__ = ["SEP", "Taxonomy", "TaxonomyError", "join_path", "split_path"]

_GOOGLE_LINE = re.compile(r"^(\d+)\s+-\s+(.*)$")


def _check_text(text: str) -> None:
    """A taxonomy is text, one path per line: refuse binary data and JSON, which would otherwise
    parse as one-line paths and give a run that looks right and is not."""
    if "\x00" in text or sum(ch < " " and ch not in "\t\r\n" for ch in text[:10_000]) > 0:
        raise TaxonomyError("not a text file (it holds control or NUL bytes)")
    head = text.lstrip()[:1]
    if head in ("{", "["):
        raise TaxonomyError(
            "this looks like JSON; a taxonomy is one category path per line ('A > B > C') "
            "or Google's product-taxonomy text ('ID - A > B > C')"
        )


def _parse_lines(text: str, *, google: bool) -> list[str]:
    _check_text(text)
    paths = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if google:
            m = _GOOGLE_LINE.match(line)
            if m is None:
                raise TaxonomyError(f"line {lineno}: expected 'ID - A > B > C', got {line[:100]!r}")
            line = m.group(2)
        try:
            paths.append(join_path(split_path(line)))
        except TaxonomyError as e:
            raise TaxonomyError(f"line {lineno}: {e}") from None
    return paths


@dataclass(frozen=True)
class Taxonomy:
    """Category paths (normalized, sorted, unique). Only the given paths are valid answers."""

    paths: tuple[str, ...]
    source: str = "paths"

    def __post_init__(self) -> None:
        paths = tuple(sorted({join_path(split_path(p)) for p in self.paths}))
        if not paths:
            raise TaxonomyError(f"taxonomy ({self.source}) has no category paths")
        object.__setattr__(self, "paths", paths)

    @classmethod
    def from_paths(cls, paths: Iterable[str], source: str = "paths") -> Taxonomy:
        return cls(tuple(paths), source)

    @classmethod
    def from_google_text(cls, text: str, source: str = "google") -> Taxonomy:
        """Parse Google's ``ID - A > B > C`` lines; ``#`` comments and blank lines are skipped."""
        return cls(tuple(_parse_lines(text, google=True)), source)

    @classmethod
    def from_labels(cls, rows: Iterable[Any], source: str = "labels") -> Taxonomy:
        """Distinct non-empty ``category`` of rows (ProductRow-like objects or dicts)."""
        labels = set()
        for row in rows:
            label = row.get("category") if isinstance(row, Mapping) else getattr(row, "category", None)
            if label and label.strip():
                labels.add(label)
        if not labels:
            raise TaxonomyError("no row has a category label to build the taxonomy from")
        return cls(tuple(labels), source)

    @classmethod
    def from_text(cls, text: str, source: str | None = None) -> Taxonomy:
        """Google format if the first non-comment line is ``ID - ...``, else one path per line."""
        first = next((ln for ln in map(str.strip, text.splitlines()) if ln and not ln.startswith("#")), "")
        google = _GOOGLE_LINE.match(first) is not None
        return cls(tuple(_parse_lines(text, google=google)), source or ("google" if google else "paths"))

    @classmethod
    def load(cls, path: str | Path, source: str | None = None) -> Taxonomy:
        return cls.from_text(Path(path).read_text(encoding="utf-8-sig"), source)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256("\n".join(self.paths).encode()).hexdigest()

    @cached_property
    def max_depth(self) -> int:
        return max(p.count(SEP) + 1 for p in self.paths)

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths, "source": self.source}  # not the cached indexes

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path: object) -> bool:
        """Is ``path`` one of the paths (after whitespace normalization)?"""
        if not isinstance(path, str):
            return False
        if path in self._path_set:
            return True
        try:
            return join_path(split_path(path)) in self._path_set
        except TaxonomyError:
            return False

    @cached_property
    def _path_set(self) -> frozenset[str]:
        return frozenset(self.paths)

    def prefixes(self) -> tuple[str, ...]:
        """Every path and all of its ancestors, sorted."""
        split = map(split_path, self.paths)
        return tuple(sorted({join_path(parts[:i]) for parts in split for i in range(1, len(parts) + 1)}))

    @cached_property
    def _index(self) -> _ShortlistIndex:
        return _ShortlistIndex(self.paths)

    def shortlist(self, text: str, k: int) -> list[str]:
        """The ``k`` paths lexically closest to ``text`` (all paths, in order, when ``len <= k``).

        A path scores, for each word it shares with ``text``: idf x level weight (leaf words count most)
        x (1 + log of the word's count in ``text``); plus a share of its best-scoring sibling's score.
        Ties, and the fill when fewer than ``k`` paths match, go by path order. Deterministic.
        """
        if k <= 0:
            return []
        if len(self.paths) <= k:
            return list(self.paths)
        ranked = self._index.top(text, k)
        if len(ranked) < k:
            chosen = set(ranked)
            ranked += [pid for pid in range(len(self.paths)) if pid not in chosen][: k - len(ranked)]
        return [self.paths[pid] for pid in ranked]
