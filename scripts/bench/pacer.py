"""Building blocks of the baseline client: cookbook-style capacity tracking, a raw HTTP/1.1
keep-alive connection, and the error classes of OpenAI responses (as labrun classifies them)."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Capacity tracking: take() deducts and returns 0, or returns the seconds until it fits."""

    def __init__(self, rpm: float | None, tpm: float | None, burst_s: float) -> None:
        self.rates = [r / 60 for r in (rpm, tpm) if r]
        self.kinds = [k for k, r in ((0, rpm), (1, tpm)) if r]
        self.caps = [r * burst_s for r in self.rates]
        self.avail = list(self.caps)
        self.stamp = time.monotonic()

    def take(self, tokens: int) -> float:
        now = time.monotonic()
        dt, self.stamp = now - self.stamp, now
        costs = [(1, tokens)[k] for k in self.kinds]
        wait = 0.0
        for i, rate in enumerate(self.rates):
            self.avail[i] = min(self.caps[i], self.avail[i] + dt * rate)
            need = min(costs[i], self.caps[i])
            if self.avail[i] < need:
                wait = max(wait, (need - self.avail[i]) / rate)
        if wait == 0.0:
            self.avail = [a - c for a, c in zip(self.avail, costs, strict=True)]
        return wait


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, head: bytes, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        data = await self.reader.readexactly(int(headers.get(b"content-length", b"0")))
        return status, headers, data


def classify(status: int, data: bytes) -> str:
    if status == 0:
        return "connection"
    if status == 429:
        return "quota" if b"insufficient_quota" in data else "rate_limited"
    if status in (401, 403):
        return "auth"
    return "server_error" if status >= 500 else "bad_request"
