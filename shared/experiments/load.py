"""Read an experiment.yaml into a validated, resolved :class:`Experiment`.

Template files: an option value, ``prompt.system``/``prompt.user``, or a value listed under
``matrix: {options.<name>: [...]}`` / ``matrix: {prompt.<part>: [...]}`` may be written
``{file: prompt.txt}``; the loader replaces it by the file's text, read relative to the
experiment directory (``..`` allowed, absolute paths not: the file is versioned with the spec).
Every problem is an ``ExperimentError`` naming the file, and the field or the YAML line.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labrun.shared.experiments import layout, matrix
from labrun.shared.experiments.spec import ExperimentError, ExperimentSpec, Loc, Problem, parse_spec

Reader = Callable[[str], str]  # a path relative to the experiment directory -> its text


@dataclass(frozen=True)
class Experiment:
    """A loaded experiment: its resolved ``spec``, ``directory`` (in the working tree), the
    ``file`` as messages name it, ``files`` (field path -> template file read) and the YAML text."""

    spec: ExperimentSpec
    directory: Path
    file: str
    files: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def cells(self) -> list[matrix.Cell]:
        """One cell per matrix combination (a single cell without a matrix)."""
        return matrix.expand(self.spec, self.files)

    def dataset_location(self) -> str:
        """The dataset as a local absolute path (``git``, ``path``) or an ``s3://`` URI."""
        ds = self.spec.dataset
        if ds.location == "s3":
            return ds.path
        return str((self.directory / Path(ds.path).expanduser()).resolve())

    def check_dataset(self) -> list[str]:
        """Raise when a local dataset file is missing; return notes (a large file kept in git)."""
        ds = self.spec.dataset
        if ds.location == "s3":
            return []
        path = Path(self.dataset_location())
        if not path.is_file():
            raise ExperimentError.one(("dataset", "path"), f"no such file: {ds.path} ({path})", self.file)
        size = path.stat().st_size
        if ds.location == "git" and size > layout.SMALL_DATASET_BYTES:
            return [
                f"dataset {ds.path} is {size / 1e6:.1f} MB: keep large data out of git (location: s3 or path)"
            ]
        return []


def load(root: Path, name: str, *, models: Collection[str] | None = None) -> Experiment:
    """The experiment ``name`` under ``root`` (see ``layout.find_root``)."""
    path = layout.spec_path(root, name)
    if not path.is_file():
        known = ", ".join(layout.list_names(root)) or "none yet"
        raise ExperimentError.one(
            ("name",), f"no experiment {name!r} ({layout.display(path)}); known: {known}"
        )
    return load_file(path, models=models)


def load_file(path: Path, *, models: Collection[str] | None = None) -> Experiment:
    """An experiment.yaml anywhere (its directory must carry the spec's name)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError):
        raise ExperimentError.one((), "no such file", layout.display(path)) from None
    return load_text(text, file=layout.display(path), directory=path.parent, models=models)


def load_text(
    text: str,
    *,
    file: str,
    directory: Path,
    read: Reader | None = None,
    models: Collection[str] | None = None,
) -> Experiment:
    """Parse, resolve template files through ``read`` (default: from ``directory``) and validate.
    ``models``, when given, are the known model aliases (e.g. ``load_catalog().models``)."""

    def from_disk(rel: str) -> str:
        return (directory / rel).read_text(encoding="utf-8-sig")

    try:
        data, files = resolve_files(read_yaml(text), read or from_disk, directory)
        spec = parse_spec(data)
        matrix.check_matrix(spec)
        _check_names(spec, directory, models)
    except ExperimentError as exc:
        raise exc.with_file(file) from None
    return Experiment(spec, directory, file, files, text)


def read_yaml(text: str) -> Any:
    """YAML text as data; syntax errors and repeated keys name the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "cannot parse this"
        if exc.context and exc.context_mark:
            problem += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        raise ExperimentError([((), f"invalid YAML: {problem}")], line=line) from None
    except yaml.YAMLError as exc:
        raise ExperimentError.one((), f"invalid YAML: {exc}") from None


def resolve_files(data: Any, read: Reader, directory: Path) -> tuple[Any, dict[str, str]]:
    """``data`` with every ``{file: X}`` where templates may be replaced by X's text, and the
    map field path -> X."""
    if not isinstance(data, dict):
        return data, {}
    data, files = dict(data), {}

    def resolve(loc: Loc, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@") and " " not in value.strip():
            raise ExperimentError.one(loc, f"to read a file write {{file: {value[1:]}}} (got {value!r})")
        if not (isinstance(value, dict) and list(value) == ["file"]):
            return value
        rel = value["file"]
        if not isinstance(rel, str) or not rel or rel.startswith(("/", "~")):
            raise ExperimentError.one(
                loc, f"a template file is a path relative to {directory.name}/ (got {rel!r})"
            )
        rel = posixpath.normpath(rel)
        try:
            text = read(rel)
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
            why = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "not found"
            raise ExperimentError.one(
                loc, f"template file {rel!r} {why} (next to {layout.SPEC_FILE})"
            ) from None
        files[".".join(str(p) for p in loc if isinstance(p, str)) + _index(loc)] = rel
        return text

    for part in ("options", "prompt"):
        if isinstance(data.get(part), dict):
            data[part] = {k: resolve((part, k), v) for k, v in data[part].items()}
    if isinstance(data.get("matrix"), dict):
        data["matrix"] = {
            k: [resolve(("matrix", k, i), v) for i, v in enumerate(vs)]
            if isinstance(vs, list) and str(k).startswith(("options.", "prompt."))
            else vs
            for k, vs in data["matrix"].items()
        }
    return data, files


def _index(loc: Loc) -> str:
    return "".join(f"[{p}]" for p in loc if isinstance(p, int))


def _check_names(spec: ExperimentSpec, directory: Path, models: Collection[str] | None) -> None:
    if directory.name != spec.name:
        raise ExperimentError.one(
            ("name",), f"{spec.name!r} differs from its directory {directory.name!r}: rename one of them"
        )
    if models is None:
        return
    used: list[tuple[Loc, str]] = [(("model",), spec.model)]
    used += [(("matrix", "model", i), m) for i, m in enumerate((spec.matrix or {}).get("model", []))]
    bad: list[Problem] = [
        (loc, f"unknown model alias {m!r}; known: {', '.join(sorted(models))}")
        for loc, m in used
        if m not in models
    ]
    if bad:
        raise ExperimentError(bad)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (the later one would win silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool | None):
                continue  # an unhashable key: SafeLoader reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
