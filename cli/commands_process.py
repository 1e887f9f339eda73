"""Long-running processes: worker, api, fake-llm, flower."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("api")(api)
    app.command("fake-llm")(fake_llm)
    app.command("flower")(flower)


def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Provider calls in flight (threads); default LABRUN_WORKER_CONCURRENCY")
    ] = None,  # noqa: E501
    queues: Annotated[str, typer.Option(help="Queues to consume")] = "labrun.predict,labrun.control",
    loglevel: Annotated[str, typer.Option()] = "INFO",
    hostname: Annotated[str, typer.Option("--hostname", "-n")] = "labrun@%h",
) -> None:
    """Run a Celery worker: a thread pool keeps many I/O-bound provider calls in flight."""
    from cli.services import ensure_services

    settings = ensure_services()
    from worker.app import app as celery_app

    celery_app.worker_main(
        [
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(concurrency or settings.worker_concurrency),
            "--queues",
            queues,
            "--loglevel",
            loglevel,
            "--hostname",
            hostname,
            "--without-gossip",
            "--without-mingle",
        ]
    )


def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve the submission API (OpenAPI at /docs)."""
    import uvicorn

    from cli.services import ensure_services

    ensure_services()
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def fake_llm(
    port: Annotated[int, typer.Option()] = 8900,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    rpm: Annotated[float | None, typer.Option(help="Requests/min limit (429 beyond)")] = None,
    tpm: Annotated[float | None, typer.Option(help="Tokens/min limit (429 beyond)")] = None,
    burst_s: Annotated[float, typer.Option(help="Bucket depth in seconds")] = 2.0,
    latency: Annotated[float, typer.Option(help="Mean latency, seconds")] = 0.0,
    latency_dist: Annotated[str, typer.Option(help="fixed|uniform|exponential|lognormal")] = "fixed",
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 5xx/529")] = 0.0,
    fail_mode: Annotated[str | None, typer.Option(help="quota|auth|bad_request: fail every request")] = None,
) -> None:
    """A loopback server speaking the OpenAI and Anthropic wire formats (for tests and benchmarks)."""
    from shared.fake_llm.server import FakeServerConfig, serve

    config = FakeServerConfig(
        rpm=rpm,
        tpm=tpm,
        burst_s=burst_s,
        latency_s=latency,
        latency_dist=latency_dist,
        error_rate=error_rate,
        fail_mode=fail_mode,
    )
    typer.echo(
        f"fake LLM on http://{host}:{port}  (OPENAI_BASE_URL=http://{host}:{port}/v1, "
        f"ANTHROPIC_BASE_URL=http://{host}:{port})"
    )
    serve(config, host=host, port=port)


def flower(port: Annotated[int, typer.Option()] = 5555) -> None:
    """Flower monitoring for the labrun workers."""
    from cli.services import ensure_services

    ensure_services()
    from worker.app import app as celery_app

    celery_app.start(["flower", f"--port={port}"])
