"""What labrun knows about each provider's wiring, below everything: the SDK package (recorded in
run snapshots), the default key and endpoint variables and the official endpoint. The worker's
providers take their hooks from here, and the run snapshot (shared/runs) reads the same table, so
neither repeats it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderWiring:
    sdk_package: str | None  # import and distribution name of the official SDK
    default_key_envs: tuple[str, ...] = ()  # tried in order when an alias names no key variable
    default_base_url_env: str | None = None
    official_base_url: str | None = None


WIRING: dict[str, ProviderWiring] = {
    "openai": ProviderWiring("openai", ("OPENAI_API_KEY",), "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": ProviderWiring(
        "anthropic",
        ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
        "ANTHROPIC_BASE_URL",
        "https://api.anthropic.com",
    ),
    "fake": ProviderWiring(None),
}


def sdk_packages() -> tuple[str, ...]:
    return tuple(w.sdk_package for w in WIRING.values() if w.sdk_package)


def endpoint_variables() -> tuple[str, ...]:
    return tuple(w.default_base_url_env for w in WIRING.values() if w.default_base_url_env)
