"""Classify's prompt: templates over the row's columns plus ``{labels}`` (the label list)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labrun.shared.usecases.templates import substitute, truncate

MAX_FIELD_CHARS = 2000
DEFAULT_SYSTEM = (
    "You are a careful classifier. Given one item and a list of labels, choose the single label "
    "that fits the item best.\nAnswer with exactly one label, copied character for character from "
    "the list, and nothing else: no explanation, no numbering, no quotes."
)
USER_TAIL = (
    "\n\nLabels (one per line):\n{labels}\n\nReply with the one label from the list above that fits best."
)


def default_user(text_columns: Sequence[str]) -> str:
    """``Title: {title}`` lines for the text columns, then the label list."""
    lines = [f"{col.replace('_', ' ').capitalize()}: {{{col}}}" for col in text_columns]
    return "Item:\n" + "\n".join(lines) + USER_TAIL


def format_labels(labels: Sequence[str]) -> str:
    return "\n".join(f"- {label}" for label in labels)


def render(template: str, row: Mapping[str, str], labels_text: str) -> str:
    """Fill a template validated at run creation (unknown columns were rejected there)."""
    values = {k: truncate(v, MAX_FIELD_CHARS) for k, v in row.items()}
    return substitute(template, {**values, "labels": labels_text})
