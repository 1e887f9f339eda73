"""Integration fixtures: ``project_key``, a fresh project and one of its API keys (tests/auth.py)."""

from __future__ import annotations

import pytest

from tests.auth import Key, new_key


@pytest.fixture
def project_key(settings_env) -> Key:
    return new_key()
