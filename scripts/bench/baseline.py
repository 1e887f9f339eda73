"""The baseline: a plain single-process asyncio client, raw HTTP/1.1 over keep-alive connections,
paced client-side like the OpenAI cookbook's ``api_request_parallel_processor.py`` (requests/min
and tokens/min capacity tracking, a pause after a 429, retries), results to a local JSONL file.

Differences from the cookbook, to make it a fair baseline: capacity holds ``burst_s`` seconds of
the rate (the cookbook lets a full minute accumulate, which a 2 s provider bucket would refuse);
after a 429 it pauses for the server's retry-after (the cookbook: 15 s); 5xx are retried with the
same full-jitter exponential backoff as labrun (base 1 s, 8 attempts)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.pacer import Conn, Pacer, classify
from bench.workload import Item

MAX_ATTEMPTS = 8


@dataclass
class Result:
    wall_s: float
    first_send: float
    last_done: float
    rows: list[dict] = field(default_factory=list)


async def run(
    items: list[Item],
    base_url: str,
    out: Path,
    *,
    concurrency: int = 200,
    rpm: float | None = None,
    tpm: float | None = None,
    burst_s: float = 2.0,
) -> Result:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    head = (
        f"POST {url.path.rstrip('/')}/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Authorization: Bearer sk-bench\r\nContent-Type: application/json\r\nContent-Length: "
    ).encode()
    pacer = Pacer(rpm, tpm, burst_s) if (rpm or tpm) else None
    sem, idle, wake = asyncio.Semaphore(concurrency), [], asyncio.Event()
    pending: deque[tuple[Item, int]] = deque((i, 0) for i in items)
    rows: list[dict] = []
    pause_until = 0.0
    loop = asyncio.get_running_loop()

    def requeue(entry: tuple[Item, int]) -> None:
        pending.appendleft(entry)
        wake.set()

    async def send(body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        """One attempt; a kept-alive connection the server closed meanwhile is replaced (like any
        HTTP client's pool does), a fresh connection's failure is a connection error."""
        while True:
            reused = bool(idle)
            conn = idle.pop() if reused else None
            try:
                if conn is None or conn.reader.at_eof():
                    conn = Conn(*await asyncio.open_connection(host, port))
                    reused = False
                response = await asyncio.wait_for(conn.post(head, body), 60)
                idle.append(conn)
                return response
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                if conn is not None:
                    conn.writer.close()
                if not reused:
                    return 0, {}, b""

    async def call(item: Item, attempts: int) -> None:
        nonlocal pause_until
        attempts += 1
        started = time.monotonic()
        try:
            status, headers, data = await send(item.body)
        finally:
            sem.release()
        if status == 200:
            body = json.loads(data)
            usage = body["usage"]
            text = body["choices"][0]["message"]["content"]
            latency_ms = (time.monotonic() - started) * 1000
            rows.append(_row(item, "succeeded", attempts, text=text, latency_ms=latency_ms, **usage))
            return
        kind = classify(status, data)
        if kind == "rate_limited" and attempts < MAX_ATTEMPTS:
            wait = float(headers.get(b"retry-after", b"1"))
            pause_until = max(pause_until, time.monotonic() + wait)
            return requeue((item, attempts))
        if kind in ("server_error", "connection") and attempts < MAX_ATTEMPTS:
            loop.call_later(random.uniform(0, min(60.0, 2.0 ** (attempts - 1))), requeue, (item, attempts))
            return
        rows.append(_row(item, "failed", attempts, error_type=kind, status_code=status))

    tasks: set[asyncio.Task[None]] = set()
    t0, first = time.monotonic(), time.time()
    while len(rows) < len(items):
        if not pending:
            wake.clear()
            await wake.wait()
            continue
        await sem.acquire()
        while (pause := pause_until - time.monotonic()) > 0:
            await asyncio.sleep(pause)
        while pacer is not None and (w := pacer.take(pending[0][0].tokens)) > 0:
            await asyncio.sleep(w)
        task = asyncio.create_task(call(*pending.popleft()))
        tasks.add(task)
        task.add_done_callback(lambda t: (tasks.discard(t), wake.set()))
    for conn in idle:
        conn.writer.close()
    with open(out, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return Result(time.monotonic() - t0, first, max(r["at"] for r in rows), rows)


def _row(item: Item, status: str, attempts: int, **fields: object) -> dict:
    return {"id": item.id, "status": status, "attempts": attempts, "at": time.time(), **fields}
