"""labrun workers: Celery app, thin tasks, provider clients, rate limiting and retries."""
