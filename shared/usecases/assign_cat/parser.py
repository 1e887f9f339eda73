"""Map a model's free-text answer to a category path of the taxonomy.

Strategies, first hit wins: ``exact``; ``casefold`` (case, whitespace, separators such as ``/``, ``»``,
``->`` and "and"/"&" ignored); ``leaf`` (a unique path whose trailing levels match the answer, e.g. just
the leaf name); ``closest`` (best similarity >=
:data:`~labrun.shared.usecases.assign_cat.fuzzy.CLOSEST_THRESHOLD`).
Candidate paths (those shown in the prompt) win ties and are searched first. This module cleans the
answer up (code fences, JSON, list markers, "Answer:" labels); the matching itself is in
:mod:`labrun.shared.usecases.assign_cat.fuzzy`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from labrun.shared.usecases.assign_cat.fuzzy import _candidate_ids, _closest, _index, _key, _pick
from labrun.shared.usecases.assign_cat.taxonomy import SEP, Taxonomy

_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n?(.*?)\n?```$", re.S)
_LIST_MARKER = re.compile(r"^(?:[-*•]\s+|\d{1,3}[.)]\s+)")
_LABEL = re.compile(
    r"^(?:the\s+)?(?:final\s+|best\s+)?(?:answer|category(?:\s+path)?|path|classification|label)"
    r"\s*(?:is\s*)?[:=]\s*",
    re.I,
)
_EDGE_CHARS = "\"'`“”‘’*_ \t"
_JSON_KEYS = ("category", "category_path", "path", "answer", "label")


@dataclass(frozen=True)
class ParseResult:
    path: str | None
    method: str | None


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
