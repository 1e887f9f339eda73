"""The HTTP skeleton shared by the official-SDK providers (OpenAI, Anthropic), written once.

One SDK client per provider instance, built with its retries off (one HTTP attempt per call, so every
attempt goes through labrun's limiter and retry policy) and the endpoint and key of
:mod:`labrun.worker.providers.credentials` passed explicitly. A call is the SDK's raw POST (same
client, auth, timeouts and errors as its typed ``create``), timed; SDK timeout, connection and
status exceptions become :class:`ProviderError`; a body that does not parse is a ``server_error``.
Subclasses fill in the class attributes and the hooks :meth:`build_body`, :meth:`parse`,
:meth:`classify`.
"""

from __future__ import annotations

import importlib
import json
import time
from abc import abstractmethod
from typing import Any, ClassVar

from labrun.shared.core.catalog import ModelSpec
from labrun.worker.providers import credentials
from labrun.worker.providers.base import (
    ChatRequest,
    ChatResponse,
    Provider,
    ProviderError,
    interesting_headers,
)
from labrun.worker.providers.http_errors import fingerprint, sdk_response_class, status_error

PARSE_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)
CREDENTIAL_HEADERS = ("Authorization", "X-Api-Key", "Api-Key")


class SdkHttpProvider(Provider):
    sdk_package: ClassVar[str]  # the SDK's import/distribution name (recorded in run snapshots)
    sdk_client: ClassVar[str]  # its sync client class
    default_key_envs: ClassVar[tuple[str, ...]]  # tried in order when the alias names no key
    default_base_url_env: ClassVar[str]
    official_base_url: ClassVar[str]
    path: ClassVar[str]  # POSTed to, relative to the base URL
    request_id_header: ClassVar[str]
    rate_limit_header_prefixes: ClassVar[tuple[str, ...]]

    def __init__(self, spec: ModelSpec, *, timeout: float) -> None:
        super().__init__(spec, timeout=timeout)
        self.sdk: Any = importlib.import_module(self.sdk_package)
        self.credentials = credentials.resolve(
            spec,
            key_envs=self.default_key_envs,
            base_url_env=self.default_base_url_env,
            official_base_url=self.official_base_url,
        )
        self._client: Any = None
        if key := self.credentials.key:  # without one, complete() fails with "auth" (not construction)
            self._client = getattr(self.sdk, self.sdk_client)(
                **self.key_kwargs(key, self.credentials.key_env),
                base_url=self.credentials.base_url,
                max_retries=0,
                timeout=self.sdk.Timeout(timeout, connect=min(10.0, timeout)),
            )
            if self.credentials.isolated:
                self._client = self._client.with_options(default_headers=self._pinned_headers())
            self._raw = sdk_response_class(self._client)

    # --- hooks ---------------------------------------------------------------------------------

    @abstractmethod
    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body of the POST."""

    @abstractmethod
    def parse(self, data: Any) -> dict[str, Any]:
        """``text``, ``finish_reason``, ``prompt_tokens``, ``completion_tokens`` and ``model`` of a
        decoded success body; raise KeyError/TypeError/... when it has not the expected shape."""

    @abstractmethod
    def classify(self, exc: Any) -> str:
        """The ERROR_TYPES value of an SDK ``APIStatusError``."""

    def key_kwargs(self, key: str, key_env: str | None) -> dict[str, Any]:
        """The SDK client's credential argument(s) for ``key`` (read from ``key_env``)."""
        return {"api_key": key}

    def isolation_headers(self) -> dict[str, Any]:
        """More headers to pin (or omit, with the SDK's ``Omit()``) on an isolated alias."""
        return {}

    def _pinned_headers(self) -> dict[str, Any]:
        """For an alias with its own endpoint or key: the credential headers are exactly the ones
        the SDK derives from the key we passed, so none can come from the SDK's environment settings
        (``OPENAI_CUSTOM_HEADERS``, ``ANTHROPIC_CUSTOM_HEADERS``)."""
        omit = self.sdk.Omit()
        return {h: omit for h in CREDENTIAL_HEADERS} | self._client.auth_headers | self.isolation_headers()

    # --- the call ------------------------------------------------------------------------------

    def headers(self, headers: Any) -> dict[str, str]:
        return interesting_headers(headers, self.request_id_header, self.rate_limit_header_prefixes)

    def complete(self, request: ChatRequest) -> ChatResponse:
        if self._client is None:
            raise ProviderError("auth", self.credentials.missing)
        sdk = self.sdk
        body = self.build_body(request)
        started = time.perf_counter()
        try:
            http = self._client.post(self.path, cast_to=self._raw, body=body)
        except sdk.APITimeoutError as exc:
            raise ProviderError("timeout", f"no response within {self.timeout}s") from exc
        except sdk.APIConnectionError as exc:
            raise ProviderError("connection", str(exc.__cause__ or exc)) from exc
        except sdk.APIStatusError as exc:
            raise status_error(self.classify(exc), exc, self.headers(exc.response.headers)) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        content: bytes = http.content
        headers = self.headers(http.headers)
        request_id = http.headers.get(self.request_id_header)
        try:
            fields = self.parse(json.loads(content))
        except PARSE_ERRORS as exc:
            raise ProviderError(
                "server_error",
                f"unexpected response body: {exc!r}",
                status_code=http.status_code,
                headers=headers,
                body=content,
                request_id=request_id,
            ) from exc
        return ChatResponse(
            **fields,
            request_id=request_id,
            status_code=http.status_code,
            body=content,
            headers=headers,
            latency_ms=latency_ms,
        )

    def key_fingerprint(self) -> str:
        return fingerprint(self.credentials.fingerprint_source)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
