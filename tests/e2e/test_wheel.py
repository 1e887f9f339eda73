"""Packaging as a user gets it: the wheel claims only the ``labrun`` import name, a plain
(non-editable) install runs ``labrun demo``, and the client imports without the server stack."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (path,) = out.glob("labrun-*.whl")
    return path


def test_the_wheel_installs_only_the_labrun_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"labrun", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    for data in ("labrun/examples/bigbasket-300.csv", "labrun/shared/core/models.yaml",
                 "labrun/shared/storage/db/migrations/versions/0002_use_case_details.py"):  # fmt: skip
        assert data in names


def test_a_plain_install_runs_the_demo(wheel, tmp_path):
    """``pip install`` of the wheel into a fresh venv (its dependencies come from this venv's
    site-packages through a .pth line: nothing is downloaded), run from a directory with no
    source tree in sight, through the installed ``labrun`` console script."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(subprocess.check_output(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())  # fmt: skip
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
               "--no-deps", "--no-index", str(wheel)]  # fmt: skip
    done = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABRUN_", "OPENAI_", "ANTHROPIC_"))}
    env.update(LABRUN_HOME=str(tmp_path / "home"), COLUMNS="120", PYTHONPATH="")
    code = "import labrun.cli.main as m, labrun.examples as e; print(m.__file__); print(e.__file__)"
    where = subprocess.run([venv / "bin" / "python", "-c", code], env=env, capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(purelib)) for line in where.stdout.split()), (
        where.stdout
    )  # not the checkout
    demo = subprocess.run(
        [venv / "bin" / "labrun", "demo", "--limit", "40", "--out", str(tmp_path / "runs")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "accuracy (valid only)" in demo.stdout and "run directory:" in demo.stdout


def test_the_client_imports_without_the_server_stack():
    heavy = ("celery", "kombu", "sqlalchemy", "redis", "boto3", "openai", "anthropic", "fastapi", "psycopg")
    code = (
        "import sys, labrun.shared.client as c; c.LabrunClient; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
