"""Worker log lines name the run and datapoint of the task that wrote them; JSON on request."""

from __future__ import annotations

import io
import json
import logging

import pytest

from labrun.worker import logs

pytestmark = pytest.mark.unit


def test_lines_written_inside_a_task_carry_its_run_and_datapoint():
    stream = io.StringIO()
    logger = logging.getLogger("test.labrun.logs")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.propagate = False
    logs.install(logger, "json")
    logs.enter(("run-1", 42))
    try:
        logger.warning("calling %s", "provider")
    finally:
        logs.leave()
    logger.warning("between tasks")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["run_id"], first["datapoint_id"], first["message"]) == ("run-1", 42, "calling provider")
    assert (second["run_id"], second["datapoint_id"]) == (None, None)
    assert first["level"] == "WARNING" and first["time"].endswith("+00:00")
