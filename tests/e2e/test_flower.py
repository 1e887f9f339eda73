"""Flower: loopback by default, basic auth from settings, refused beyond loopback without it, and
its log line names the address it binds."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.services import free_port, wait_for

pytestmark = pytest.mark.e2e


def flower(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "labrun.cli.main", "flower", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_flower_asks_for_basic_auth_and_binds_loopback(http_env):
    port = free_port()
    proc = flower({**http_env, "LABRUN_FLOWER_BASIC_AUTH": "team:s3cret-pass"}, "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(lambda: httpx.get(url, timeout=1).status_code in (200, 401), timeout=30)
        assert httpx.get(url, timeout=5).status_code == 401
        assert httpx.get(url, auth=("team", "wrong"), timeout=5).status_code == 401
        assert httpx.get(url, auth=("team", "s3cret-pass"), timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"flower on http://127.0.0.1:{port} (basic auth)" in out
    assert "s3cret-pass" not in out  # the password is never printed


def test_flower_refuses_a_public_address_without_auth(http_env):
    proc = flower({k: v for k, v in http_env.items()}, "--host", "0.0.0.0", "--port", str(free_port()))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "needs --basic-auth" in out
