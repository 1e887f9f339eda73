"""Provider registry: providers register by name; SDKs are imported lazily by each provider."""

from __future__ import annotations

from collections.abc import Callable

from labrun.worker.providers.base import ChatRequest, ChatResponse, Provider, ProviderError

_REGISTRY: dict[str, type[Provider]] = {}
_BUILTIN = {
    "openai": "labrun.worker.providers.openai_provider",
    "anthropic": "labrun.worker.providers.anthropic_provider",
    "fake": "labrun.worker.providers.fake_provider",
}


def register(name: str) -> Callable[[type[Provider]], type[Provider]]:
    def wrap(cls: type[Provider]) -> type[Provider]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def provider_class(name: str) -> type[Provider]:
    if name not in _REGISTRY and name in _BUILTIN:
        import importlib

        importlib.import_module(_BUILTIN[name])
    if name not in _REGISTRY:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(sorted({*_REGISTRY, *_BUILTIN}))}")
    return _REGISTRY[name]


__all__ = ["ChatRequest", "ChatResponse", "Provider", "ProviderError", "register", "provider_class"]
