"""Word splitting shared by the shortlist index and the fuzzy answer matcher."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset("a an and as at by for from in is it of on or the to with other others".split())


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
