"""Map a model's answer to one of the labels: exact, then case- and punctuation-insensitive, then
the one label the answer names as whole words. Anything else is a parse error, never a guess."""

from __future__ import annotations

import re
from collections.abc import Sequence

_PREFIX = re.compile(r"^(?:the\s+)?(?:final\s+)?(?:answer|label|category|class)\s*(?:is\s*)?[:=-]\s*", re.I)
_EDGES = "\"'`“”‘’*_ .\t-•"


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.casefold()))


def match_label(answer: str | None, labels: Sequence[str]) -> tuple[str | None, str | None]:
    """``(label, method)``; ``(None, None)`` when the answer names no single label."""
    if not answer or not answer.strip():
        return None, None
    first = next((ln for ln in answer.strip().splitlines() if ln.strip()), "")
    cleaned = _PREFIX.sub("", first.strip()).strip(_EDGES)
    if cleaned in labels:
        return cleaned, "exact"
    by_key = {_key(label): label for label in labels}
    if (hit := by_key.get(_key(cleaned))) is not None:
        return hit, "normalized"
    whole = f" {_key(answer)} "
    named = [label for k, label in by_key.items() if k and f" {k} " in whole]
    # "Home Decor" inside "Home Decor & Festive Needs": keep the longest names only
    named = [n for n in named if not any(n != m and _key(n) in _key(m) for m in named)]
    if len(named) == 1:
        return named[0], "contains"
    return None, None
