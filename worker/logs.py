"""Worker log lines carry the run and datapoint they are about: a task's first two arguments are
(run id, datapoint id) for predict and (run id) for the control tasks; they are put on every log
record written while the task runs (a context variable per pool thread). With
``LABRUN_LOG_FORMAT=json`` each line is one JSON object (time, level, logger, message, run_id,
datapoint_id, exception)."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_task: ContextVar[tuple[str | None, Any]] = ContextVar("labrun_task", default=(None, None))


def enter(args: Any) -> None:
    args = list(args or [])
    _task.set((str(args[0]) if args else None, args[1] if len(args) > 1 else None))


def leave() -> None:
    _task.set((None, None))


class TaskContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id, record.datapoint_id = _task.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", None),
            "datapoint_id": getattr(record, "datapoint_id", None),
            "process": record.processName,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def install(logger: logging.Logger, fmt: str) -> None:
    """Add the task context to every handler of ``logger``; JSON lines with ``fmt == "json"``."""
    for handler in logger.handlers:
        handler.addFilter(TaskContext())
        if fmt == "json":
            handler.setFormatter(JsonFormatter())
