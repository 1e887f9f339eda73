"""Use cases by name. Built-in ones are imported when first asked for; others register themselves."""

from __future__ import annotations

import importlib

from labrun.shared.core.errors import InputError
from labrun.shared.usecases.base import UseCase

DEFAULT = "assign-cat"
BUILTIN = {
    "assign-cat": "labrun.shared.usecases.assign_cat.usecase",
    "classify": "labrun.shared.usecases.classify.usecase",
}
_REGISTRY: dict[str, UseCase] = {}


def register(cls: type[UseCase]) -> type[UseCase]:
    _REGISTRY[cls.name] = cls()
    return cls


def names() -> list[str]:
    return sorted({*BUILTIN, *_REGISTRY})


def get(name: str | None) -> UseCase:
    """The use case called ``name``; ``InputError`` on ``use_case`` for an unknown one."""
    name = name or DEFAULT
    if name not in _REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        raise InputError(("use_case",), f"unknown use case {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]
