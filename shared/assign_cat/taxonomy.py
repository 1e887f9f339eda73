"""A category taxonomy: a sorted set of `` > ``-joined paths, and a lexical candidate shortlist."""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

SEP = " > "
_GOOGLE_LINE = re.compile(r"^(\d+)\s+-\s+(.*)$")
_WORD = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset("a an and as at by for from in is it of on or the to with other others".split())
# Word weight multiplier by path level counted from the leaf (leaf words are the most specific).
_LEVEL_WEIGHTS = (1.0, 0.6, 0.35)


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


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """Crude suffix stripping, good enough for a shortlist: "bake", "baked", "baking", "bakes" -> "bak"."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "es", "e", "y"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Lower-cased, crudely singularized words of ``text``, without stopwords and 1-letter words."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in _STOPWORDS]


def _parse_lines(text: str, *, google: bool) -> list[str]:
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


class _ShortlistIndex:
    """Inverted index word -> [(path id, weight)], built once per taxonomy."""

    SIBLING_SHARE = 0.3

    def __init__(self, paths: tuple[str, ...]) -> None:
        per_path: list[dict[str, float]] = []
        self.siblings: dict[str, list[int]] = {}
        self.parent: list[str] = []
        for pid, path in enumerate(paths):
            parts = split_path(path)
            level_of: dict[str, float] = {}
            for from_leaf, part in enumerate(reversed(parts)):
                lw = _LEVEL_WEIGHTS[min(from_leaf, len(_LEVEL_WEIGHTS) - 1)]
                for w in words(part):
                    level_of[w] = max(level_of.get(w, 0.0), lw)
            per_path.append(level_of)
            parent = join_path(parts[:-1])
            self.parent.append(parent)
            self.siblings.setdefault(parent, []).append(pid)
        df = Counter(w for level_of in per_path for w in level_of)
        n = len(paths)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for pid, level_of in enumerate(per_path):
            for w, lw in level_of.items():
                self.postings.setdefault(w, []).append((pid, lw * math.log(1 + n / df[w])))

    def top(self, text: str, k: int) -> list[int]:
        """Ids of the (at most) ``k`` best-scoring paths that share a word with ``text``."""
        scores: dict[int, float] = {}
        for w, count in Counter(words(text)).items():
            boost = 1 + math.log(count)
            for pid, weight in self.postings.get(w, ()):
                scores[pid] = scores.get(pid, 0.0) + weight * boost
        best_child: dict[str, float] = {}
        for pid, score in scores.items():
            parent = self.parent[pid]
            if score > best_child.get(parent, 0.0):
                best_child[parent] = score
        final = dict(scores)
        for parent, best in best_child.items():
            for pid in self.siblings[parent]:
                final[pid] = final.get(pid, 0.0) + self.SIBLING_SHARE * best
        return heapq.nsmallest(k, final, key=lambda pid: (-final[pid], pid))
