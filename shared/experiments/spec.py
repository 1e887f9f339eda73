"""The experiment spec: what ``.experiments/<name>/experiment.yaml`` may say, and its validation.

``parse_spec(data)`` is the one entry: pydantic checks the shape, then the checks that need the
use-case registry (use case, option names) and the matrix keys run. Every problem is reported as
an :class:`ExperimentError` naming the field path (``dataset.format: must be one of ...``); the
loader adds the file. Template files are already resolved when ``parse_spec`` sees the data.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from labrun.shared.core.errors import InputError
from labrun.shared.core.schemas import PromptSpec
from labrun.shared.usecases import registry

NAME_MAX = 60
FORMATS = ("csv", "jsonl", "parquet")
_VERSION = re.compile(r"[-_.]v?\d+([._]\d+)+$|[-_]v\d+([._]\d+)*(?=[-_]|$)")  # foo-v2, foo-v1.2, foo-1.2
Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]  # (field path, message)
_DATE = re.compile(r"-(\d{4}-\d{2}(-\d{2})?|\d{8})$")  # foo-2024-01, foo-2024-01-31, foo-20240131


class ExperimentError(InputError):
    """Bad experiment input: ``problems`` lists ``(loc, message)``; ``file`` (and ``line``) say where.

    ``str()`` gives one line per problem: ``<file>: <field.path>: <message>``.
    """

    def __init__(self, problems: list[Problem], file: str | None = None,
                 line: int | None = None) -> None:  # fmt: skip
        super().__init__(problems[0][0], problems[0][1])
        self.problems, self.file, self.line = problems, file, line

    @classmethod
    def one(cls, loc: Loc, message: str, file: str | None = None) -> ExperimentError:
        return cls([(loc, message)], file)

    def with_file(self, file: str) -> ExperimentError:
        return ExperimentError(self.problems, self.file or file, self.line)

    def __str__(self) -> str:
        head = [self.file] if self.file else []
        if self.line is not None:
            head.append(f"line {self.line}")
        lines = []
        for loc, message in self.problems:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
            lines.append(": ".join([*head, *([where] if where else []), message]))
        return "\n".join(lines)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an experiment (None: it can). Names are directory names and the
    middle of git tags ``experiments/<name>/vX.Y.Z``, so they carry no version of their own."""
    if not name:
        return "is empty"
    if name != name.lower():
        return f"must be lowercase (got {name!r}; try {name.lower()!r})"
    if not name[0].isalpha() or not name[0].isascii():
        return f"must start with a letter (got {name!r})"
    if m := _VERSION.search(name) or _DATE.search(name):
        kind = "a date" if _DATE.search(name) else "a version"
        stem = (name[: m.start()] + name[m.end() :]).lower().replace("_", "-")
        return (f"must not carry {kind} ({m.group(0).lstrip('-_.')!r}): versions are git tags "
                f"experiments/<name>/vX.Y.Z, so name it {stem!r} and tag it")  # fmt: skip
    if bad := sorted(set(re.sub(r"[a-z0-9-]", "", name))):
        return f"may contain only lowercase letters, digits and hyphens (found {''.join(bad)!r} in {name!r})"
    if len(name) > NAME_MAX:
        return f"is {len(name)} characters long; at most {NAME_MAX}"
    if name.endswith("-") or "--" in name:
        return f"must not end with a hyphen or contain '--' (got {name!r})"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Params(_Strict):
    """The engine's call parameters (unset ``max_tokens``: the model alias's default)."""

    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1, le=16_384)
    seed: int | None = None


class DatasetSpec(_Strict):
    """``git``: a path relative to the experiment directory (versioned with it); ``path``: a local
    path (relative ones also start at the experiment directory); ``s3``: an ``s3://`` URI."""

    location: Literal["git", "s3", "path"] = "git"
    path: str = Field(min_length=1)
    format: Literal["csv", "jsonl", "parquet"] | None = None  # None: from the path's extension


class ResultsSpec(_Strict):
    """Where full results go: ``<base_path>/<name>/results/run-<timestamp>/`` (local or s3://);
    unset: the caller's default (the configured artifacts location)."""

    base_path: str | None = None


class ExperimentSpec(_Strict):
    name: str
    description: str = ""
    use_case: str = registry.DEFAULT
    model: str = Field(min_length=1, description="A model alias from models.yaml")
    dataset: DatasetSpec
    params: Params = Params()
    options: dict[str, Any] = Field(default_factory=dict, description="The use case's options")
    prompt: PromptSpec = PromptSpec()
    results: ResultsSpec = ResultsSpec()
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Literal["draft", "ready", "archived"] = "draft"
    matrix: dict[str, list[Any]] | None = Field(None, description="Field path -> values to sweep")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if problem := name_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("use_case")
    @classmethod
    def _use_case(cls, v: str) -> str:
        try:
            registry.get(v)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return v

    def use_case_options(self) -> tuple[str, ...]:
        return registry.get(self.use_case).option_names()


def dump(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec as plain data (what ``parse_spec`` reads back to an equal spec)."""
    return spec.model_dump(mode="json", exclude_none=True)


def parse_spec(data: Any) -> ExperimentSpec:
    """Validate plain data (a parsed YAML mapping) into a spec; ``ExperimentError`` lists every
    problem with its field path. The dataset format is filled in from the extension when unset.
    Matrix keys and values are checked by ``matrix.check_matrix`` (the loader runs both)."""
    if not isinstance(data, dict):
        got = "nothing" if data is None else f"a {type(data).__name__}"
        raise ExperimentError.one((), f"must be a mapping of fields such as name: and model: (got {got})")
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ExperimentError([(tuple(e["loc"]), _message(e)) for e in exc.errors()]) from None
    problems = _dataset_problems(spec.dataset)
    known = spec.use_case_options()
    for key in spec.options:
        if key not in known:
            hint = f"known: {', '.join(known)}" if known else "it takes no options"
            problems.append((("options", key), f"unknown option of use case {spec.use_case!r}; {hint}"))
    base = spec.results.base_path
    if base is not None and base.startswith("s3://") and not base[5:].strip("/"):
        problems.append((("results", "base_path"), f"an s3 base path needs a bucket (got {base!r})"))
    if problems:
        raise ExperimentError(problems)
    if spec.dataset.format is None:
        fmt = infer_format(spec.dataset.path)
        spec = spec.model_copy(update={"dataset": spec.dataset.model_copy(update={"format": fmt})})
    return spec


def infer_format(path: str) -> str | None:
    """``csv``/``jsonl``/``parquet`` from a path's extension (``.ndjson`` is jsonl); None if unknown."""
    suffix = path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    return {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}.get(suffix)


def _dataset_problems(ds: DatasetSpec) -> list[Problem]:
    loc: Loc = ("dataset", "path")
    out: list[Problem] = []
    if ds.location == "s3" and not re.match(r"^s3://[^/]+/.+", ds.path):
        out.append((loc, f"an s3 location needs an s3://bucket/key URI (got {ds.path!r})"))
    elif ds.location != "s3" and ds.path.startswith("s3://"):
        out.append((loc, f"an s3:// URI needs location: s3 (got location: {ds.location})"))
    elif ds.location == "git" and (ds.path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", ds.path)):
        out.append((loc, f"a git location is relative to the experiment directory (got {ds.path!r}); "
                         "use location: path for a file outside the repository"))  # fmt: skip
    if ds.format is None and infer_format(ds.path) is None:
        out.append((("dataset", "format"), f"cannot tell the format of {ds.path!r} from its extension; "
                                           f"set it to one of {', '.join(FORMATS)}"))  # fmt: skip
    return out


def _message(err: Any) -> str:
    """A pydantic error as a sentence about the field (``must be ...``, ``unknown key; allowed ...``)."""
    kind, got = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return f"unknown key; allowed: {', '.join(_allowed(tuple(err['loc'][:-1])))}"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", err["ctx"]["expected"]))
        return f"must be one of {choices} (got {got!r})"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    msg = str(err["msg"])
    msg = "must be " + msg[len("Input should be ") :] if msg.startswith("Input should be ") else msg
    return f"{msg} (got {got!r})" if not isinstance(got, dict | list) else msg


def _allowed(prefix: tuple[Any, ...]) -> tuple[str, ...]:
    cls: Any = ExperimentSpec
    for part in prefix:
        field = cls.model_fields.get(part) if isinstance(part, str) else None
        cls = field.annotation if field else None
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return ()
    return tuple(cls.model_fields)
