"""Running the fake LLM server: blocking :func:`serve`, a background :func:`running_server`, the CLI."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from labrun.shared.testing.fake_llm_server.config import FAIL_MODES, LATENCY_DISTS, FakeServerConfig

# uvicorn picks uvloop/httptools itself when they are installed ("auto").
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "lifespan": "off",
    "timeout_graceful_shutdown": 1,
    "backlog": 4096,
}


def _app(config: FakeServerConfig | None) -> Any:
    from labrun.shared.testing.fake_llm_server.server import create_app

    return create_app(config)


def serve(config: FakeServerConfig | None = None, host: str = "127.0.0.1", port: int = 8900) -> None:
    """Serve until interrupted (single process, asyncio)."""
    import uvicorn

    uvicorn.run(_app(config), host=host, port=port, **UVICORN_OPTIONS)


@contextmanager
def running_server(config: FakeServerConfig | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Run the server in a background thread on a free port; yields its base URL."""
    import uvicorn

    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(config), host=host, port=port, **UVICORN_OPTIONS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-llm", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def parse_args(argv: Sequence[str] | None = None) -> tuple[FakeServerConfig, str, int]:
    p = argparse.ArgumentParser(prog="fake-llm", description="Fake OpenAI/Anthropic-compatible LLM server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--latency", type=float, default=0.0, help="mean latency in seconds")
    p.add_argument("--latency-dist", choices=LATENCY_DISTS, default="fixed")
    p.add_argument("--latency-jitter", type=float, default=0.25)
    p.add_argument("--rpm", type=float, help="requests per minute (token bucket)")
    p.add_argument("--tpm", type=float, help="tokens per minute: prompt + max_tokens")
    p.add_argument("--itpm", type=float, help="input tokens per minute (Anthropic style)")
    p.add_argument("--otpm", type=float, help="output tokens (max_tokens) per minute")
    p.add_argument("--burst", type=float, default=2.0, help="bucket depth in seconds of the rate")
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--error-statuses", default="500,503,529", help="comma-separated HTTP statuses")
    p.add_argument("--fail-mode", choices=[m for m in FAIL_MODES if m])
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    config = FakeServerConfig(
        latency_s=a.latency,
        latency_dist=a.latency_dist,
        latency_jitter=a.latency_jitter,
        rpm=a.rpm,
        tpm=a.tpm,
        itpm=a.itpm,
        otpm=a.otpm,
        burst_s=a.burst,
        error_rate=a.error_rate,
        error_statuses=[int(s) for s in a.error_statuses.split(",") if s.strip()],
        fail_mode=a.fail_mode,
        seed=a.seed,
    )
    return config, a.host, a.port


def main(argv: Sequence[str] | None = None) -> None:
    config, host, port = parse_args(argv)
    print(f"fake LLM server on http://{host}:{port} ({config})", file=sys.stderr)
    serve(config, host=host, port=port)
