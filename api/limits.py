"""Request size limits, enforced while the body streams in (never after reading it all): a JSON
body over ``LABRUN_API_MAX_JSON_MB`` or an upload over ``LABRUN_API_MAX_UPLOAD_MB`` answers 413
with the limit named, whether or not the client sent a Content-Length. Uploads are spooled to disk
by the multipart parser; form fields are bounded in count and size (api/upload.py)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 1024 * 1024
MAX_OFFSET = 10**9  # paging offsets (a larger one is a 422, not a database error)
MAX_FORM_FIELDS = 200  # text fields and files of one upload
MAX_FIELD_BYTES = 32 * MB  # one form part held in memory (a taxonomy or label list sent as text)


class TooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: counts the body's bytes as they arrive."""

    def __init__(self, app: ASGIApp, json_mb: float, upload_mb: float) -> None:
        self.app, self.json_bytes, self.upload_bytes = app, int(json_mb * MB), int(upload_mb * MB)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        upload = headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"multipart/form-data"
        limit, what, var = (
            (self.upload_bytes, "upload", "LABRUN_API_MAX_UPLOAD_MB")
            if upload
            else (self.json_bytes, "request body", "LABRUN_API_MAX_JSON_MB")
        )
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _reject(send, what, limit, var)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge:
            if not started:
                await _reject(send, what, limit, var)


async def _reject(send: Send, what: str, limit: int, var: str) -> None:
    detail: dict[str, Any] = {
        "detail": f"{what} larger than the limit of {round(limit / MB, 2):g} MB (set by {var})"
    }
    body = json.dumps(detail).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
