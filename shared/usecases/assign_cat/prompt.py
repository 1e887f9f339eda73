"""Prompt templates for assign-cat and their injection-safe rendering.

Templates use ``{name}`` placeholders from :data:`VARIABLES` (see
:mod:`labrun.shared.usecases.templates` for the syntax and the injection-safe rendering).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from labrun.shared.usecases import templates
from labrun.shared.usecases.templates import PromptError, placeholders, substitute, truncate

__all__ = ["PromptError", "PromptTemplate", "placeholders", "render", "truncate", "validate_template"]

VARIABLES = frozenset({"title", "description", "brand", "categories", "id"})
MAX_DESCRIPTION_CHARS = 2000

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


def validate_template(text: str, field_name: str) -> None:
    """Raise :class:`PromptError` naming ``field_name`` for unknown variables or unbalanced braces."""
    templates.validate_template(text, field_name, VARIABLES)


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

    The template was validated when the run was created (:meth:`PromptTemplate.validate`).
    """

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
    return RenderedPrompt(substitute(template.system, values), substitute(template.user, values))
