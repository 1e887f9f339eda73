"""The keyword index behind :meth:`Taxonomy.shortlist
<labrun.shared.usecases.assign_cat.taxonomy.Taxonomy.shortlist>`.

Scores taxonomy paths by the (idf- and level-weighted) words they share with a product text, so a
prompt only needs to show the few paths that are lexically closest to the product.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter

from labrun.shared.usecases.assign_cat.paths import join_path, split_path
from labrun.shared.usecases.assign_cat.words import words

# Word weight multiplier by path level counted from the leaf (leaf words are the most specific).
_LEVEL_WEIGHTS = (1.0, 0.6, 0.35)


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
