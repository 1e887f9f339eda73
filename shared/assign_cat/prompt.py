"""Prompt templates for assign-cat and their injection-safe rendering.

Templates use ``{name}`` placeholders from :data:`VARIABLES`; ``{{`` and ``}}`` are literal braces.
Rendering is one regex pass (never ``str.format``): no attribute or index access, and inserted values
are never expanded again, whatever braces they contain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

VARIABLES = frozenset({"title", "description", "brand", "categories", "id"})
MAX_DESCRIPTION_CHARS = 2000
ELLIPSIS = "…"

DEFAULT_SYSTEM = (
    "You are a product classifier for an e-commerce catalog. Given one product and a list of category "
    "paths, choose the single category path that fits the product best.\n"
    "Answer with exactly one category path, copied character for character from the list, and nothing "
    "else: no explanation, no numbering, no quotes, no leading dash. If several paths seem possible, "
    "pick the most specific one that fits; never invent a path that is not in the list."
)

DEFAULT_USER = """Product:
Title: {title}
Brand: {brand}
Description: {description}

Categories (one per line):
{categories}

Reply with the one category path from the list above that fits this product best."""

# One token of a template: a literal brace pair, a placeholder, or a stray brace.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class PromptError(ValueError):
    """An invalid prompt template."""


@dataclass(frozen=True)
class PromptTemplate:
    system: str = DEFAULT_SYSTEM
    user: str = DEFAULT_USER

    def validate(self) -> None:
        """Check both templates; ``{categories}`` must appear in one of them."""
        validate_template(self.system, "system")
        validate_template(self.user, "user")
        if "categories" not in placeholders(self.system) | placeholders(self.user):
            raise PromptError("prompt: neither the system nor the user template contains {categories}")

    @classmethod
    def from_spec(cls, system: str | None = None, user: str | None = None) -> PromptTemplate:
        """Defaults for the unset parts (e.g. ``PromptTemplate.from_spec(spec.system, spec.user)``)."""
        template = cls(DEFAULT_SYSTEM if system is None else system, DEFAULT_USER if user is None else user)
        template.validate()
        return template


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    user: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def placeholders(text: str) -> set[str]:
    """Names of the ``{name}`` placeholders of ``text`` (valid or not)."""
    return {m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None}


def validate_template(text: str, field_name: str) -> None:
    """Raise :class:`PromptError` naming ``field_name`` for unknown variables or unbalanced braces."""
    unknown: list[str] = []
    for m in _TOKEN.finditer(text):
        token, name = m.group(0), m.group(1)
        if token in ("{{", "}}"):
            continue
        if name is None:
            hint = f"write {token * 2} for a literal brace"
            raise PromptError(f"{field_name}: unbalanced {token!r} at position {m.start()} ({hint})")
        if name not in VARIABLES and name not in unknown:
            unknown.append(name)
    if unknown:
        names = ", ".join("{" + n + "}" for n in unknown)
        allowed = ", ".join(sorted(VARIABLES))
        raise PromptError(f"{field_name}: unknown variable(s) {names}; allowed: {allowed}")


def _substitute(text: str, values: Mapping[str, str]) -> str:
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


def format_categories(candidates: Sequence[str]) -> str:
    return "\n".join(f"- {path}" for path in candidates)


def render(
    template: PromptTemplate,
    row: Any,
    candidates: Sequence[str],
    *,
    max_description_chars: int = MAX_DESCRIPTION_CHARS,
) -> RenderedPrompt:
    """Fill ``template`` with a ProductRow (or a mapping with the same keys) and the candidate paths.

    Raises :class:`PromptError` for a syntactically invalid template (``{categories}`` is not required).
    """
    validate_template(template.system, "system")
    validate_template(template.user, "user")

    def field(name: str) -> str:
        value = row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)
        return "" if value is None else str(value)

    values = {
        "id": field("id"),
        "title": field("title"),
        "brand": field("brand"),
        "description": truncate(field("description"), max_description_chars),
        "categories": format_categories(candidates),
    }
    return RenderedPrompt(_substitute(template.system, values), _substitute(template.user, values))
