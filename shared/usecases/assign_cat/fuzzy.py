"""Matching of a cleaned-up answer to taxonomy paths: the machinery of
:mod:`labrun.shared.usecases.assign_cat.parser`.

:func:`_index` builds (and caches by taxonomy content, a few per process) lookup tables of one taxonomy:
comparison keys (:func:`_key`: case, whitespace and separator insensitive), paths by key and by leaf,
and the words and character trigrams of each path. :func:`_closest` is the fuzzy ``closest`` strategy:
it compares the answer in detail only to the paths most likely to match (candidates, and the lexical
shortlist, prefiltered by trigram overlap).
"""

from __future__ import annotations

import heapq
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from difflib import SequenceMatcher

from labrun.shared.usecases.assign_cat.taxonomy import SEP, Taxonomy, TaxonomyError, join_path, split_path
from labrun.shared.usecases.assign_cat.words import words

CLOSEST_THRESHOLD = 0.6
CANDIDATE_BONUS = 0.05  # a candidate shown in the prompt wins over a slightly more similar other path
PREFILTER = 25  # paths compared in detail by the "closest" strategy, per pool
SUFFIX_PENALTY = 0.85  # similarity to a path's trailing levels counts a bit less than to the whole path
_SEPARATOR = re.compile(r"\s*(?:->|=>|→|»|›|>|/)\s*")
_AND = re.compile(r"\band\b")


def _key(text: str) -> str:
    """Comparison key: casefolded, "and" -> "&", any separator -> " > ", whitespace collapsed."""
    text = _AND.sub("&", _SEPARATOR.sub(" > ", text.casefold()))
    return SEP.join(p for p in (" ".join(part.split()) for part in text.split(">")) if p)


class _Index:
    """Lookup tables of one taxonomy."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.paths = taxonomy.paths
        self.pid = {p: i for i, p in enumerate(self.paths)}
        self.keys = [_key(p) for p in self.paths]
        self.by_key: dict[str, list[int]] = {}
        self.by_leaf: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.by_key.setdefault(key, []).append(i)
            self.by_leaf.setdefault(key.rsplit(SEP, 1)[-1], []).append(i)
        self.words = [frozenset(words(p)) for p in self.paths]
        self.grams = [_trigrams(k) | _trigrams(k.rsplit(SEP, 1)[-1]) for k in self.keys]


def _trigrams(text: str) -> frozenset[str]:
    text = f" {text} "
    return frozenset(text[i : i + 3] for i in range(len(text) - 2))


_CACHE: OrderedDict[str, _Index] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _index(taxonomy: Taxonomy) -> _Index:
    with _CACHE_LOCK:
        index = _CACHE.get(taxonomy.sha256)
        if index is None:
            index = _CACHE[taxonomy.sha256] = _Index(taxonomy)
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(taxonomy.sha256)
        return index


def _pick(ids: Iterable[int], preferred: frozenset[int]) -> int | None:
    """The single id, or the single preferred one among several; None when ambiguous or empty."""
    ids = list(dict.fromkeys(ids))
    if len(ids) == 1:
        return ids[0]
    favoured = [i for i in ids if i in preferred]
    return favoured[0] if len(favoured) == 1 else None


class _Scorer:
    """Similarity of one answer to paths: max of word Jaccard, character ratio to the whole path, and
    SUFFIX_PENALTY x character ratio to the path's trailing levels (as many as the answer has)."""

    def __init__(self, answer: str, ix: _Index) -> None:
        self.ix = ix
        self.key = _key(answer)
        self.words = frozenset(words(answer))
        self.depth = self.key.count(SEP) + 1
        self.matcher = SequenceMatcher(None, b=self.key, autojunk=False)

    def _ratio(self, text: str, floor: float) -> float:
        """Character ratio to ``text``, or 0 when it cannot exceed ``floor`` (cheap bounds first)."""
        m = self.matcher
        m.set_seq1(text)
        if m.real_quick_ratio() <= floor or m.quick_ratio() <= floor:
            return 0.0
        return m.ratio()

    def score(self, pid: int, floor: float) -> float:
        """The similarity, or some value <= ``floor`` when it is <= ``floor``."""
        path_words, key = self.ix.words[pid], self.ix.keys[pid]
        union = self.words | path_words
        best = max(len(self.words & path_words) / len(union) if union else 0.0, floor)
        best = max(best, self._ratio(key, best))
        parts = key.split(SEP)
        if self.depth < len(parts):
            suffix = SEP.join(parts[-self.depth :])
            best = max(best, SUFFIX_PENALTY * self._ratio(suffix, best / SUFFIX_PENALTY))
        return best


def _closest(answer: str, ix: _Index, preferred: frozenset[int]) -> int | None:
    """The most similar path (candidates get CANDIDATE_BONUS) if its similarity reaches the threshold."""
    scorer = _Scorer(answer, ix)
    if not scorer.key:
        return None
    grams = _trigrams(scorer.key)
    finalists: set[int] = set()
    for pool in (preferred, [ix.pid[p] for p in ix.taxonomy.shortlist(answer, 30)]):
        # Character-trigram overlap picks the few paths worth the costly comparisons.
        overlap = {pid: len(grams & ix.grams[pid]) for pid in pool}
        finalists.update(heapq.nsmallest(PREFILTER, overlap, key=lambda pid: (-overlap[pid], pid)))
    best, best_pid = -1.0, None
    for pid in sorted(finalists):  # ties: the lowest id wins
        bonus = CANDIDATE_BONUS if pid in preferred else 0.0
        floor = max(CLOSEST_THRESHOLD - 1e-9, best - bonus)
        score = scorer.score(pid, floor)
        if score > floor:
            best, best_pid = score + bonus, pid
    return best_pid


def _candidate_ids(candidates: Iterable[str], ix: _Index) -> Iterable[int]:
    for path in candidates:
        pid = ix.pid.get(path)
        if pid is None:
            try:
                pid = ix.pid.get(join_path(split_path(path)))
            except TaxonomyError:
                continue
        if pid is not None:
            yield pid
