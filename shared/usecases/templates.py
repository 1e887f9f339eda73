"""Prompt templates: ``{name}`` placeholders, ``{{``/``}}`` literal braces, injection-safe rendering.

Rendering is one regex pass (never ``str.format``): no attribute or index access, and inserted
values are never expanded again, whatever braces they contain. Templates are validated once, when
a run is created (:func:`validate_template`); rendering on the hot path does not validate again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# One token of a template: a literal brace pair, a placeholder, or a stray brace.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
ELLIPSIS = "…"


class PromptError(ValueError):
    """An invalid prompt template."""


def placeholders(text: str) -> set[str]:
    """Names of the ``{name}`` placeholders of ``text`` (valid or not)."""
    return {m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None}


def validate_template(text: str, field_name: str, variables: Iterable[str]) -> None:
    """Raise :class:`PromptError` naming ``field_name`` for unknown variables or unbalanced braces."""
    allowed_set = frozenset(variables)
    unknown: list[str] = []
    for m in _TOKEN.finditer(text):
        token, name = m.group(0), m.group(1)
        if token in ("{{", "}}"):
            continue
        if name is None:
            hint = f"write {token * 2} for a literal brace"
            raise PromptError(f"{field_name}: unbalanced {token!r} at position {m.start()} ({hint})")
        if name not in allowed_set and name not in unknown:
            unknown.append(name)
    if unknown:
        names = ", ".join("{" + n + "}" for n in unknown)
        allowed = ", ".join(sorted(allowed_set))
        raise PromptError(f"{field_name}: unknown variable(s) {names}; allowed: {allowed}")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Fill a validated template (every placeholder must have a value)."""

    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return values[m.group(1)]

    return _TOKEN.sub(repl, text)


def truncate(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters (at a space when one is near the end),
    ending with an ellipsis when cut."""
    if len(text) <= max_chars:
        return text
    cut = text[: max(max_chars - len(ELLIPSIS), 0)]
    if not text[len(cut)].isspace() and (space := cut.rfind(" ")) > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS
