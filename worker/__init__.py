"""labrun workers: Celery app and thin tasks over an injected context, providers, the global rate
limiter, retries, liveness (heartbeats, reaper, sweeper) and the windowed releaser."""
