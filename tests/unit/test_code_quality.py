"""The tree stays lint-clean (ruff) and shared/ type-checks (mypy), as configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_check_and_format():
    check = run("ruff", "check", ".")
    assert check.returncode == 0, check.stdout[-4000:]
    fmt = run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout[-4000:]


def test_mypy_shared():
    result = run("mypy")
    assert result.returncode == 0, result.stdout[-4000:]
