"""A team member's CLI and Python client against a real ``labrun api`` process, with only
LABRUN_API_URL and LABRUN_API_KEY: no database, broker or store credentials, and no embedded
service started. A worker process finishes the run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from labrun.shared.client import LabrunAPIError, LabrunClient
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.service import submit
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope
from tests.auth import new_key
from tests.services import free_port, wait_for

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def api_url(e2e_env, tmp_path):
    port = free_port()
    log = open(tmp_path / "api.log", "wb")  # noqa: SIM115
    cmd = [sys.executable, "-m", "labrun.cli.main", "api", "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, **e2e_env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 200, timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def member_cli(url: str, key: str, home: Path):
    """``labrun`` as a team member runs it: the API's URL and a key, nothing else of labrun's."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LABRUN_", "AWS_", "OPENAI_", "ANTHROPIC_"))
    }
    env |= {"LABRUN_API_URL": url, "LABRUN_API_KEY": key, "LABRUN_HOME": str(home), "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "labrun.cli.main", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)

    return run


def test_the_cli_and_the_client_work_through_the_api(labrun_env, worker, api_url, tmp_path):
    key = new_key()
    operators = submit(
        RunCreate(rows=[{"id": "1", "title": "Soap", "category": "Home"}], model="fake")
    ).run_id
    home = tmp_path / "member-home"
    labrun = member_cli(api_url, key.token, home)

    done = labrun("submit", str(EXAMPLES / "bigbasket-300.csv"), "--model", "fake", "--limit", "20", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = re.search(r"run (\S+): 20 datapoints queued", done.stdout)[1]
    assert "accuracy" in done.stdout and "succeeded" in done.stdout
    with session_scope() as s:
        assert s.get(Run, run_id).project_id == key.project_id

    listed = labrun("runs")
    assert listed.returncode == 0 and run_id in listed.stdout and operators not in listed.stdout
    shown = labrun("show", run_id)
    assert shown.returncode == 0 and "accuracy" in shown.stdout and "coverage" in shown.stdout
    assert labrun("watch", run_id).returncode == 0
    assert (
        labrun("cancel", run_id).stdout.strip() == f"{run_id}: succeeded"
    )  # a finished run keeps its status
    compared = labrun("compare", run_id, run_id)
    assert compared.returncode == 0 and "McNemar" in compared.stdout

    for args in (("show", operators), ("cancel", operators), ("watch", "no-such-run")):
        refused = labrun(*args)
        assert refused.returncode == 2 and f"no run '{args[1]}'" in refused.stderr, refused.stderr
    by_status = labrun("show", run_id, "--by", "status")
    assert by_status.returncode == 0 and "succeeded" in by_status.stdout, by_status.stderr
    for local_only in (("export", run_id), ("errors", run_id), ("experiments", "list")):
        refused = labrun(*local_only)  # says so instead of starting services on the member's machine
        assert refused.returncode == 2 and "works on the services only" in refused.stderr, refused.stderr
    wrong = member_cli(api_url, key.token[:-3] + "xyz", home)("runs")
    assert wrong.returncode == 2 and "refused the key" in wrong.stderr and "Traceback" not in wrong.stderr
    assert not home.exists()  # no embedded Postgres/Redis/worker was started for the member

    with LabrunClient(api_url, api_key=key.token) as lab:
        assert [r["id"] for r in lab.list_runs()] == [run_id]
        assert lab.metrics(run_id)[0]["n"] == 20
    with LabrunClient(api_url) as anonymous, pytest.raises(LabrunAPIError) as err:
        anonymous.list_runs()
    assert err.value.status_code == 401
