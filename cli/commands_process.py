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
    from labrun.cli.services import ensure_services

    settings = ensure_services()
    from labrun.worker.app import app as celery_app

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

    from labrun.cli.services import ensure_services

    ensure_services()
    uvicorn.run(
        "labrun.api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


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
    from labrun.shared.testing.fake_llm_server.run import FakeServerConfig, serve

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


LOOPBACK = ("127.0.0.1", "localhost", "::1")
FLOWER_MAX_TASKS = 10_000  # tasks Flower keeps in memory (its default is unbounded for our 100k-task runs)


def flower(
    port: Annotated[int, typer.Option(envvar="LABRUN_FLOWER_PORT")] = 5555,
    host: Annotated[
        str, typer.Option(envvar="LABRUN_FLOWER_HOST", help="Address to bind (default: loopback only)")
    ] = "127.0.0.1",
    basic_auth: Annotated[
        str | None,
        typer.Option(
            envvar="LABRUN_FLOWER_BASIC_AUTH",
            help="user:password[,user2:password2]; required when binding beyond loopback",
        ),
    ] = None,
    max_tasks: Annotated[int, typer.Option(min=100, help="Tasks kept in memory")] = FLOWER_MAX_TASKS,
) -> None:
    """Flower monitoring for the labrun workers (start workers with -E / LABRUN_WORKER_EVENTS to see
    tasks; each shows its run and datapoint)."""
    from labrun.cli.services import ensure_services

    if host not in LOOPBACK and not basic_auth:
        raise typer.BadParameter(
            "binding Flower beyond loopback needs --basic-auth user:password (or LABRUN_FLOWER_BASIC_AUTH)",
            param_hint="--host",
        )
    if basic_auth and any(":" not in pair or not pair.split(":", 1)[1] for pair in basic_auth.split(",")):
        raise typer.BadParameter("expected user:password[,user2:password2]", param_hint="--basic-auth")
    ensure_services()
    from labrun.worker.app import app as celery_app

    typer.echo(
        f"flower on http://{host}:{port}" + (" (basic auth)" if basic_auth else " (no auth: loopback only)")
    )
    args = ["flower", f"--address={host}", f"--port={port}", f"--max_tasks={max_tasks}"]
    celery_app.start(args + ([f"--basic-auth={basic_auth}"] if basic_auth else []))
