"""``labrun keys create|list|revoke`` on the database (the operator's commands), and the API's
``/readyz``: public, 503 naming the service that does not answer (never its URL)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from labrun.api.main import create_app
from labrun.cli.main import app as cli_app
from tests.services import free_port

pytestmark = pytest.mark.integration
KEY = re.compile(r"lr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


def cli(*args: str):
    return CliRunner().invoke(cli_app, list(args), env={"COLUMNS": "200"})


def test_create_shows_the_key_once_list_never(settings_env):
    created = cli("keys", "create", "--project", "team-a", "--name", "alice")
    assert created.exit_code == 0, created.output
    token = KEY.search(created.output)
    assert token and "shown only now" in created.output
    key_id, secret = token[1], token[2]
    cli("keys", "create", "--project", "team-b")

    listed = cli("keys", "list")
    assert listed.exit_code == 0 and key_id in listed.output and "alice" in listed.output
    assert secret not in listed.output and not KEY.search(listed.output)
    only_b = cli("keys", "list", "--project", "team-b").output
    assert key_id not in only_b and "team-b" in only_b

    with TestClient(create_app(), headers={"Authorization": f"Bearer {token[0]}"}) as api:
        assert api.get("/runs").status_code == 200
        revoked = cli("keys", "revoke", key_id)
        assert revoked.exit_code == 0 and "revoked" in revoked.output and secret not in revoked.output
        assert api.get("/runs").status_code == 401
    line = next(x for x in cli("keys", "list", "--project", "team-a").output.splitlines() if key_id in x)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d\s*│?\s*$", line.strip(" │")), line  # the revocation date

    bad = cli("keys", "create", "--project", "no spaces!")
    assert bad.exit_code == 2 and "--project" in bad.output and "Traceback" not in bad.output
    unknown = cli("keys", "revoke", "0123456789ab")
    assert unknown.exit_code == 2 and "no key '0123456789ab'" in unknown.output


def test_readyz_names_the_service_that_does_not_answer(settings_env, monkeypatch):
    from labrun.shared.core.config import get_settings

    with TestClient(create_app()) as api:  # no key: a probe
        ok = api.get("/readyz")
        assert ok.status_code == 200 and ok.json() == {
            "status": "ready",
            "checks": {"postgres": "ok", "redis": "ok", "artifacts": "ok"},
        }
        monkeypatch.setenv(
            "LABRUN_REDIS_URL", f"redis://:hunter2@127.0.0.1:{free_port()}/0"
        )  # nothing listens
        get_settings.cache_clear()
        down = api.get("/readyz")
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        checks = down.json()["checks"]
        assert checks["postgres"] == "ok" and checks["redis"].startswith("unreachable")
        assert "hunter2" not in down.text and "127.0.0.1" not in down.text
        assert api.get("/healthz").json() == {"status": "ok"}
    get_settings.cache_clear()
