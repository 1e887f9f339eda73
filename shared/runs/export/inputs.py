"""``inputs/``: the use case's files (the datapoints, and e.g. a taxonomy) and the prompt templates."""

from __future__ import annotations

from labrun.shared.runs.export.common import Export
from labrun.shared.usecases import registry
from labrun.shared.usecases.templates import placeholders


def write_prompt(ex: Export) -> None:
    """``inputs/prompt_templates.json``: the templates, their settings and the variables they use."""
    prompt = ex.run.config.get("prompt") or {}
    system, user = prompt.get("system") or "", prompt.get("user") or ""
    ex.write_json(
        "inputs/prompt_templates.json",
        {
            "system": system,
            "user": user,
            **{k: v for k, v in prompt.items() if k not in ("system", "user")},
            "variables": sorted(placeholders(system) | placeholders(user)),
        },
    )


def write_inputs(ex: Export) -> dict[str, int]:
    counts = registry.get(ex.run.use_case).write_inputs(ex)
    write_prompt(ex)
    return counts
