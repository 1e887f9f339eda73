"""Experiments end to end: a spec in a temporary git repository, run as a sweep by real workers
against the fake LLM server: the cells share one global limit and see the same datapoints, the
results land in the repository and under the results base path, a version is tagged and loaded
back, and ``diff`` compares two versions with statistics."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.e2e.http_support import configure, stats
from tests.helpers import EXAMPLES
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e

SPEC = """\
name: two-temps
description: one model at two temperatures, paced by one shared limit
status: ready
use_case: assign-cat
model: limited
dataset: {{location: git, path: datasets/toys.csv}}
params: {{max_tokens: 64, seed: 3}}
options: {{max_candidates: 20}}
results: {{base_path: {base}}}
matrix:
  params.temperature: [0.0, 0.5]
"""


def git(repo, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    d = repo / ".experiments" / "two-temps"
    (d / "datasets").mkdir(parents=True)
    lines = (EXAMPLES / "amazon-toys-200.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (d / "datasets" / "toys.csv").write_text("".join(lines[:61]), encoding="utf-8")  # 60 rows
    (d / "experiment.yaml").write_text(SPEC.format(base=tmp_path / "results"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "two-temps")
    return repo


def cli(*args):
    from labrun.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_a_sweep_shares_one_limit_records_results_and_diffs_versions(
    labrun, http_env, server, repo, tmp_path
):
    from labrun.shared.storage.db.models import Datapoint, Prediction, Run
    from labrun.shared.storage.db.session import session_scope

    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, rpm=600, burst_s=1.0, latency_s=0.05)
    with worker_process(http_env, concurrency=20, name="exp", log=tmp_path / "w.log"):
        dry = cli("experiments", "run", "two-temps", "--dry-run", "--root", str(repo))
        assert dry.exit_code == 0 and "nothing sent" in dry.output and stats(server)["requests"] == 0
        started = time.monotonic()
        first = cli("experiments", "run", "two-temps", "--root", str(repo), "--tag")
        elapsed = time.monotonic() - started
        assert first.exit_code == 0, first.output
        # 2 cells x 60 calls through one 600/min limit (10/s, 5-request burst): one global pace
        st = stats(server)
        assert st["ok"] == 120 and elapsed >= (120 - 5) / 10 * 0.9, (elapsed, st)
        assert st["rate_limited"] <= 3
        assert "tagged: git tag -a experiments/two-temps/v1.0.0" in first.output
        assert "v1.0.0" in git(repo, "tag", "-l").stdout

        # a new version: one cell only, a different model
        spec = repo / ".experiments/two-temps/experiment.yaml"
        spec.write_text(
            spec.read_text().replace("model: limited", "model: open").replace("[0.0, 0.5]", "[0.0]")
        )
        git(repo, "commit", "-qam", "open model")
        second = cli("experiments", "run", "two-temps", "--root", str(repo), "--tag")
        assert second.exit_code == 0 and "experiments/two-temps/v1.1.0" in second.output, second.output
        # v1.0.0 as tagged, from git, while the working tree has moved on
        old = cli("experiments", "run", "two-temps", "--root", str(repo), "--version", "v1.0.0", "--dry-run")
        assert old.exit_code == 0 and old.output.count("temperature=") == 2, old.output

    with session_scope() as s:
        runs = s.scalars(select(Run).where(Run.config["experiment"]["name"].astext == "two-temps")).all()
        assert len(runs) == 3 and {r.config["experiment"]["version"] for r in runs} == {None}
        assert len({r.dataset_id for r in runs}) == 1  # every cell saw the same datapoints
        n_dp = s.scalar(
            select(func.count()).select_from(Datapoint).where(Datapoint.dataset_id == runs[0].dataset_id)
        )
        per_run = dict(s.execute(select(Prediction.run_id, func.count()).group_by(Prediction.run_id).where(
            Prediction.run_id.in_([r.id for r in runs]))).all())  # fmt: skip
        assert n_dp == 60 and set(per_run.values()) == {60}
        temps = sorted(r.config["temperature"] for r in runs if r.model_alias == "limited")
        assert temps == [0.0, 0.5]

    results = repo / ".experiments/two-temps/results"
    assert (results / "metrics.json").is_file() and "results/run-" in (results / "latest-run.txt").read_text()
    full = (results / "latest-run.txt").read_text().strip()
    assert (tmp_path / "results") in Path(full).parents
    assert len(list(Path(full).glob("runs/*/predictions.jsonl"))) == 1  # the latest sweep: one cell
    assert "model=open" in (repo / ".experiments/two-temps/README.md").read_text()  # the latest results

    diff = cli("experiments", "diff", "two-temps", "v1.0.0", "v1.1.0", "--root", str(repo))
    assert diff.exit_code == 0, diff.output
    assert "-model: limited" in diff.output and "+model: open" in diff.output
    assert "McNemar" in diff.output and "95% CI" in diff.output
    from fastapi.testclient import TestClient

    from labrun.api.main import create_app

    with TestClient(create_app(auth="off")) as client:  # the operator's view: CLI runs have no project
        got = client.get("/experiments/two-temps").json()
        assert got["runs"] == 3 and [c["model"] for c in got["latest"]] == ["open"], got
        assert "two-temps" in [e["name"] for e in client.get("/experiments").json()]
        missing = client.get("/experiments/nope")
        assert missing.status_code == 404 and missing.json()["detail"] == "experiment nope not found"
    shutil.rmtree(tmp_path / "results", ignore_errors=True)
