"""The workload: the catalog's first N rows, rendered exactly as the assign-cat use case renders them
(``AssignCatRun.request``: labels taxonomy over the whole file, lexical shortlist, default template),
as OpenAI request bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from labrun.shared.core.fake_model import count_tokens
from labrun.shared.usecases.assign_cat.catalog import read_catalog
from labrun.shared.usecases.assign_cat.prompt import PromptTemplate, render
from labrun.shared.usecases.assign_cat.taxonomy import Taxonomy

MODEL_ID = "gpt-4o-mini"  # the gpt4o_mini alias
MAX_TOKENS = 64  # models.yaml defaults.max_tokens


@dataclass(frozen=True)
class Item:
    id: str
    system: str
    user: str
    body: bytes  # what the OpenAI SDK sends (same fields, same values)
    tokens: int  # what the provider charges: prompt tokens + max_tokens


def load(catalog: Path, n: int, max_candidates: int) -> list[Item]:
    rows = read_catalog(catalog)
    taxonomy = Taxonomy.from_labels(rows)  # the run's taxonomy: labels of every row of the file
    template = PromptTemplate()
    items = []
    for pos, row in enumerate(rows[:n]):
        ext = row.id or str(pos + 1)
        inputs = {"title": row.title, "description": row.description, "brand": row.brand}
        product = " ".join(str(inputs.get(k) or "") for k in ("title", "brand", "description"))
        prompt = render(template, {"id": ext, **inputs}, taxonomy.shortlist(product, max_candidates))
        body = {
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "model": MODEL_ID,
            "max_tokens": MAX_TOKENS,
            "temperature": 0.0,
        }
        tokens = count_tokens(prompt.system) + count_tokens(prompt.user) + MAX_TOKENS
        items.append(Item(ext, prompt.system, prompt.user, json.dumps(body).encode(), tokens))
    return items


def mean_tokens(items: list[Item]) -> float:
    return sum(i.tokens for i in items) / max(1, len(items))


def same_prompts(items: list[Item], stored: dict[str, dict]) -> tuple[int, int]:
    """(how many of the run's stored requests were compared, how many differ from ours)."""
    by_id = {i.id: i for i in items}
    compared = differ = 0
    for ext, req in stored.items():
        item = by_id.get(ext)
        if item is None or not req:
            continue
        compared += 1
        differ += _system_user(req) != (item.system, item.user)
    return compared, differ


def _system_user(req: dict) -> tuple[str | None, str | None]:
    """A stored request's prompts: ``ChatRequest.as_dict()`` keeps a message list."""
    if "messages" not in req:  # the request shape before the call contract
        return req.get("system"), req.get("user")
    by_role = {m["role"]: m["content"] for m in req["messages"]}
    return by_role.get("system"), by_role.get("user")
