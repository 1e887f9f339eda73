"""Which key goes to which endpoint: the per-alias rules of ``base_url`` and ``api_key_env``.

The rules (also in labrun/shared/core/catalog.py and docs/endpoints.md):

- ``api_key_env`` set: the key is that variable's value, sent only to ``base_url`` or, without one,
  to the provider's official endpoint (never to the endpoint the default ``*_BASE_URL`` names).
  Unset or empty: an ``auth`` failure at call time, naming the variable.
- ``base_url`` set, no ``api_key_env``: a keyless server; the SDK gets :data:`KEYLESS`, a fixed
  non-secret placeholder, never the provider's default key.
- neither: the provider's default key variables and ``*_BASE_URL`` (else the official endpoint).

The first two are *isolated*: the endpoint and key are passed explicitly, and the environment's
defaults are not consulted. The legacy ``options.base_url`` counts as ``base_url``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from labrun.shared.core.catalog import ModelSpec

KEYLESS = "unused"  # what a keyless endpoint gets as "key": the SDKs refuse to start without one


@dataclass(frozen=True)
class Credentials:
    base_url: str
    key: str | None  # None: missing (``missing`` says which variable)
    key_env: str | None  # the variable the key came from; None for a keyless endpoint
    isolated: bool  # the alias named its own endpoint or key variable
    missing: str = ""

    @property
    def fingerprint_source(self) -> str | None:
        """What identifies the account: the key; for a keyless endpoint, the endpoint itself."""
        return self.key if self.key_env else f"{KEYLESS}@{self.base_url}"


def endpoint_of(spec: ModelSpec) -> str | None:
    return spec.base_url or spec.options.get("base_url") or None


def resolve(
    spec: ModelSpec, *, key_envs: tuple[str, ...], base_url_env: str, official_base_url: str
) -> Credentials:
    """The endpoint and key for ``spec`` under the rules above, read from the environment now."""
    endpoint = endpoint_of(spec)
    if spec.api_key_env:
        var = spec.api_key_env
        return Credentials(
            base_url=endpoint or official_base_url,
            key=os.environ.get(var) or None,
            key_env=var,
            isolated=True,
            missing=f"{var} is not set (api_key_env of alias {spec.alias})",
        )
    if endpoint:
        return Credentials(base_url=endpoint, key=KEYLESS, key_env=None, isolated=True)
    var = next((v for v in key_envs if os.environ.get(v)), key_envs[0])
    return Credentials(
        base_url=os.environ.get(base_url_env) or official_base_url,
        key=os.environ.get(var) or None,
        key_env=var,
        isolated=False,
        missing=f"{' or '.join(key_envs)} is not set",
    )
