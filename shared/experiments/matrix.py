"""Sweeps: a spec's ``matrix:`` expands to one cell per combination of its values.

``matrix: {model: [a, b], params.temperature: [0, 0.7]}`` gives four cells, in a fixed order (the
cartesian product, keys as written, values as listed, the last key varying fastest), each a full
spec without ``matrix`` and a short label such as ``model=a,temperature=0``. Keys are field paths:
``model``, ``params.*``, ``prompt.system``/``prompt.user`` and ``options.<the use case's option>``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from labrun.shared.experiments.spec import ExperimentError, ExperimentSpec, Loc, Problem, dump, parse_spec

FIELDS = ("model", "params.temperature", "params.max_tokens", "params.seed", "prompt.system", "prompt.user")
MAX_CELLS = 256


@dataclass(frozen=True)
class Cell:
    """One combination: its ``label``, the resolved ``spec`` (no matrix), the swept ``values`` by
    key, and ``files``: field path -> template file (relative to the experiment directory)."""

    label: str
    spec: ExperimentSpec
    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def run_options(self) -> dict[str, Any]:
        """The use case's options as the engine takes them: a file's text, and ``_filenames``
        naming the files (what ``UseCase.form_options`` reads, as for ``-o key=@FILE``)."""
        names = {k[8:]: PurePosixPath(v).name for k, v in self.files.items() if k.startswith("options.")}
        return {**self.spec.options, "_filenames": names} if names else dict(self.spec.options)


def check_matrix(spec: ExperimentSpec) -> None:
    """Every key names a field that can be swept, every list is non-empty without repeats, and every
    value makes a valid spec; errors name ``matrix.<key>`` (and the value's index)."""
    if spec.matrix is None:
        return
    if not spec.matrix:
        raise ExperimentError.one(("matrix",), "is empty: list the values to sweep, or remove it")
    known = (*FIELDS, *(f"options.{o}" for o in spec.use_case_options()))
    problems: list[Problem] = []
    base = _base(spec)
    for key, values in spec.matrix.items():
        loc: Loc = ("matrix", key)
        if key not in known:
            near = [k for k in known if k.endswith("." + key)]
            hint = f"did you mean {near[0]!r}? " if near else ""
            problems.append((loc, f"unknown matrix key; {hint}keys: {', '.join(known)}"))
        elif not values:
            problems.append((loc, "empty list: give at least one value to sweep"))
        elif len({_canon(v) for v in values}) < len(values):
            problems.append((loc, "lists a value twice"))
        else:
            for i, value in enumerate(values):
                try:
                    parse_spec(_set(base, key, value))
                except ExperimentError as exc:
                    problems += [((*loc, i), msg) for _, msg in exc.problems]
    n = 1
    for values in spec.matrix.values():
        n *= max(1, len(values))
    if not problems and n > MAX_CELLS:
        problems.append((("matrix",), f"expands to {n} cells; at most {MAX_CELLS}"))
    if problems:
        raise ExperimentError(problems)


def expand(spec: ExperimentSpec, files: dict[str, str] | None = None) -> list[Cell]:
    """The cells of ``spec`` (one, labelled ``model=<model>``, when it has no matrix). ``files``
    maps field paths (``options.labels``, ``matrix.prompt.system[1]``) to the template files they
    were read from, as the loader reports them."""
    files = files or {}
    if spec.matrix is None:
        return [Cell(f"model={spec.model}", spec.model_copy(update={"matrix": None}), {}, dict(files))]
    check_matrix(spec)
    assert spec.matrix
    keys = list(spec.matrix)
    base, fixed = _base(spec), {k: v for k, v in files.items() if not k.startswith("matrix.")}
    cells = []
    for combo in itertools.product(*(range(len(spec.matrix[k])) for k in keys)):
        data, chosen, cell_files, label = base, {}, {k: v for k, v in fixed.items() if k not in keys}, []
        for key, i in zip(keys, combo, strict=True):
            value = chosen[key] = spec.matrix[key][i]
            data = _set(data, key, value)
            if src := files.get(f"matrix.{key}[{i}]"):
                cell_files[key] = src
            label.append(f"{key.rsplit('.', 1)[-1]}={_short(value, i, src)}")
        cells.append(Cell(",".join(label), parse_spec(data), chosen, cell_files))
    return cells


def _base(spec: ExperimentSpec) -> dict[str, Any]:
    data = dump(spec)
    data.pop("matrix", None)
    return data


def _set(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the field at dotted ``key`` set to ``value``."""
    head, _, rest = key.partition(".")
    if not rest:
        return {**data, head: value}
    return {**data, head: _set(dict(data.get(head) or {}), rest, value)}


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any, index: int, source: str | None) -> str:
    """How a label shows a value: a template file by its name, a long text by its position."""
    if source:
        return PurePosixPath(source).name
    text = "none" if value is None else value if isinstance(value, str) else _canon(value)
    return text if len(text) <= 24 and not any(c.isspace() or c in ",=" for c in text) else f"#{index + 1}"
