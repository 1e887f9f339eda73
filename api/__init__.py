"""labrun's HTTP API (FastAPI). Depends on ``shared`` only; runs are enqueued by Celery task name.

Serve it with ``uvicorn labrun.api.main:app`` (or ``uvicorn --factory labrun.api.main:create_app``).
"""
