"""A deterministic offline "model" that classifies a product into one of the listed categories.

The prompt lists candidate categories as lines starting with ``"- "`` (``"- A > B > C"``) and the
product as ``"Title: ..."``, ``"Description: ..."``, ``"Brand: ..."`` lines. The answer is the
candidate sharing the most (weighted) words with the product, returned exactly as written.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "and the for with from into onto your you our all any are was were this that these those its"
    " other others more etc per via not non new pack set".split()
)
# Product fields and their weights; the title says most about what a product is.
FIELD_WEIGHTS = {"title": 2.0, "name": 2.0, "brand": 1.0, "description": 1.0}
LEAF_WEIGHT, MID_WEIGHT, TOP_WEIGHT = 3.0, 1.5, 1.0
NO_CANDIDATES_ANSWER = "Unknown: no candidate categories were given."


def count_tokens(text: str) -> int:
    """About four characters a token, at least 1."""
    return max(1, (len(text) + 3) // 4)


def _norm(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case word tokens without stopwords or tokens shorter than 3 characters."""
    return [_norm(w) for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in STOPWORDS]


@lru_cache(maxsize=256)
def _parse_candidates(block: str) -> tuple[tuple[str, ...], dict[str, list[tuple[int, float]]]]:
    """The candidate paths and an index word -> [(candidate, weight)]: leaf words weigh most."""
    paths = tuple(block.split("\n"))
    index: dict[str, list[tuple[int, float]]] = {}
    for n, path in enumerate(paths):
        levels = [lvl for lvl in path.split(">") if lvl.strip()]
        weights: dict[str, float] = {}
        for i, level in enumerate(levels):
            w = LEAF_WEIGHT if i == len(levels) - 1 else TOP_WEIGHT if i == 0 else MID_WEIGHT
            for word in set(words(level)):
                weights[word] = weights.get(word, 0.0) + w
        for word, w in weights.items():
            index.setdefault(word, []).append((n, w))
    return paths, index


def _product_words(lines: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    other: list[str] = []
    for line in lines:
        key, sep, value = line.partition(":")
        weight = FIELD_WEIGHTS.get(key.strip().lower()) if sep else None
        if weight is None:
            other.append(line)
            continue
        for word in set(words(value)):  # once per field: long descriptions must not drown the title
            found[word] = found.get(word, 0.0) + weight
    if not found:  # no recognised fields: use whatever else the prompt says
        for word in words(" ".join(other)):
            found[word] = found.get(word, 0.0) + 1.0
    return found


def _tiebreak(product: str, candidate: str) -> str:
    return hashlib.blake2b(f"{product}\x00{candidate}".encode(), digest_size=8).hexdigest()


def answer(system: str, user: str) -> str:
    """The best-matching candidate path, exactly as written in the prompt."""
    candidate_lines: list[str] = []
    other_lines: list[str] = []
    for line in f"{system}\n{user}".splitlines():
        stripped = line.strip()
        if stripped.startswith("- ") and len(stripped) > 2:
            candidate_lines.append(stripped[2:].strip())
        elif stripped:
            other_lines.append(stripped)
    if not candidate_lines:
        return NO_CANDIDATES_ANSWER
    paths, index = _parse_candidates("\n".join(dict.fromkeys(candidate_lines)))
    scores: dict[int, float] = {}
    for word, weight in _product_words(other_lines).items():
        for n, w in index.get(word, ()):
            scores[n] = scores.get(n, 0.0) + w * weight
    best = round(max(scores.values()), 6) if scores else 0.0
    tied = [n for n, sc in scores.items() if round(sc, 6) == best] if scores else range(len(paths))
    key = "\x00".join(other_lines)
    return paths[min(tied, key=lambda n: _tiebreak(key, paths[n]))]
