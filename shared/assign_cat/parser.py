"""Map a model's free-text answer to a category path of the taxonomy.

Strategies, first hit wins: ``exact``; ``casefold`` (case, whitespace, separators such as ``/``, ``»``,
``->`` and "and"/"&" ignored); ``leaf`` (a unique path whose trailing levels match the answer, e.g. just
the leaf name); ``closest`` (best similarity >= :data:`CLOSEST_THRESHOLD`). Candidate paths (those
shown in the prompt) win ties and are searched first.
"""

from __future__ import annotations

import heapq
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from shared.assign_cat.taxonomy import SEP, Taxonomy, TaxonomyError, join_path, split_path, words

CLOSEST_THRESHOLD = 0.6
CANDIDATE_BONUS = 0.05  # a candidate shown in the prompt wins over a slightly more similar other path
PREFILTER = 25  # paths compared in detail by the "closest" strategy, per pool
SUFFIX_PENALTY = 0.85  # similarity to a path's trailing levels counts a bit less than to the whole path
_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n?(.*?)\n?```$", re.S)
_LIST_MARKER = re.compile(r"^(?:[-*•]\s+|\d{1,3}[.)]\s+)")
_LABEL = re.compile(
    r"^(?:the\s+)?(?:final\s+|best\s+)?(?:answer|category(?:\s+path)?|path|classification|label)"
    r"\s*(?:is\s*)?[:=]\s*",
    re.I,
)
_EDGE_CHARS = "\"'`“”‘’*_ \t"
_SEPARATOR = re.compile(r"\s*(?:->|=>|→|»|›|>|/)\s*")
_AND = re.compile(r"\band\b")
_JSON_KEYS = ("category", "category_path", "path", "answer", "label")


@dataclass(frozen=True)
class ParseResult:
    path: str | None
    method: str | None


def _key(text: str) -> str:
    """Comparison key: casefolded, "and" -> "&", any separator -> " > ", whitespace collapsed."""
    text = _AND.sub("&", _SEPARATOR.sub(" > ", text.casefold()))
    return SEP.join(p for p in (" ".join(part.split()) for part in text.split(">")) if p)


def _clean_line(line: str) -> str:
    previous = None
    while line != previous:
        previous = line
        line = _LIST_MARKER.sub("", _LABEL.sub("", line.strip(_EDGE_CHARS))).strip(_EDGE_CHARS)
        if line.endswith(".") and not line.endswith(".."):
            line = line[:-1]
    return line


def _unwrap(text: str) -> str:
    """Remove code fences and take the category out of a JSON answer."""
    text = text.strip()
    if m := _FENCE.match(text):
        text = m.group(1).strip()
    if text[:1] in '{["':
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            lowered = {str(k).casefold(): v for k, v in value.items()}
            strings = [v for v in value.values() if isinstance(v, str)]
            value = next((lowered[k] for k in _JSON_KEYS if k in lowered), strings[0] if strings else None)
        if isinstance(value, str):
            return value.strip()
    return text


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


def parse_answer(
    text: str | None, taxonomy: Taxonomy, candidates: Sequence[str] | None = None
) -> ParseResult:
    """Find the taxonomy path that ``text`` names; ``ParseResult(None, None)`` when none does."""
    if not text or not text.strip():
        return ParseResult(None, None)
    ix = _index(taxonomy)
    preferred = frozenset(_candidate_ids(candidates or (), ix))
    unwrapped = _unwrap(text)
    lines = [c for c in map(_clean_line, unwrapped.splitlines()) if c]
    whole = _clean_line(" ".join(unwrapped.splitlines()))
    primary = list(dict.fromkeys([*lines[:1], whole]))
    everything = list(dict.fromkeys([*primary, *lines]))

    for attempt in everything:
        if attempt in ix.pid:
            return ParseResult(attempt, "exact")
    for attempt in everything:
        if (pid := _pick(ix.by_key.get(_key(attempt), ()), preferred)) is not None:
            return ParseResult(ix.paths[pid], "casefold")
    for attempt in primary:
        key = _key(attempt)
        same_leaf = ix.by_leaf.get(key.rsplit(SEP, 1)[-1], ())
        ids = [i for i in same_leaf if ix.keys[i] == key or ix.keys[i].endswith(SEP + key)]
        if (pid := _pick(ids, preferred)) is not None:
            return ParseResult(ix.paths[pid], "leaf")
    for attempt in primary:
        if (pid := _closest(attempt, ix, preferred)) is not None:
            return ParseResult(ix.paths[pid], "closest")
    return ParseResult(None, None)


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
