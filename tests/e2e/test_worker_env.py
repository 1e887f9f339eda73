"""The worker ``submit`` starts is never stale: after the environment changes (the README's own
step of setting OPENAI_BASE_URL), the next ``ensure_worker`` restarts it and says what changed;
keys are compared by fingerprint and never written down."""

from __future__ import annotations

import json
import os

import pytest

from tests.workers import purge_queues

pytestmark = pytest.mark.e2e


def test_a_changed_endpoint_restarts_the_embedded_worker(labrun, http_env, tmp_path, monkeypatch, capsys):
    from labrun.cli import services, worker_env
    from labrun.shared.core.config import get_settings

    purge_queues(http_env["LABRUN_REDIS_URL"])
    monkeypatch.setenv("LABRUN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-secret-123")
    get_settings.cache_clear()
    settings = get_settings()
    home = settings.home.expanduser()
    try:
        assert services.ensure_worker(settings)  # started
        first_pid = (home / "worker.pid").read_text()
        record = (home / worker_env.RECORD).read_text()
        assert "sk-planted-secret-123" not in record and json.loads(record)["OPENAI_API_KEY"].startswith(
            "sha256:"
        )
        assert not services.ensure_worker(settings)  # same environment: kept

        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the user points at another server
        assert services.ensure_worker(settings)
        assert "OPENAI_BASE_URL" in capsys.readouterr().err.split("changed since it started:")[1]
        assert (home / "worker.pid").read_text() != first_pid
        assert (
            json.loads((home / worker_env.RECORD).read_text())["OPENAI_BASE_URL"] == "http://127.0.0.1:9/v1"
        )

        monkeypatch.setenv("OPENAI_API_KEY", "sk-another-key")  # a new key, by fingerprint
        assert services.ensure_worker(settings)
        assert "OPENAI_API_KEY" in capsys.readouterr().err.split("changed since it started:")[1]
    finally:
        services.stop_worker(home)
        get_settings.cache_clear()
    assert not os.path.exists(home / "worker.pid")
