"""Versions are git tags: a spec (and its template files) loads as it was at a tag; an unknown tag
lists the existing ones; outside a repository the error says so; tag commands suggest the next
version."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labrun.shared.experiments.load import load
from labrun.shared.experiments.results import summary_line, tag_command
from labrun.shared.experiments.spec import ExperimentError
from labrun.shared.experiments.versions import list_versions, load_version, next_version

pytestmark = pytest.mark.unit
SPEC = """\
name: foo
use_case: classify
model: {model}
dataset: {{path: rows.csv}}
prompt:
  system: {{file: system.txt}}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for var, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(var, value)
    d = tmp_path / "repo" / ".experiments" / "foo"
    d.mkdir(parents=True)
    root = tmp_path / "repo"
    git(root, "init", "-q")
    (d / "experiment.yaml").write_text(SPEC.format(model="fake"))
    (d / "system.txt").write_text("old prompt")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "v1")
    git(root, "tag", "-a", "experiments/foo/v1.0.0", "-m", "first")
    (d / "experiment.yaml").write_text(SPEC.format(model="gpt4o_mini"))
    (d / "system.txt").write_text("new prompt")
    git(root, "commit", "-q", "-am", "v2")
    git(root, "tag", "-a", "experiments/foo/v1.1.0", "-m", "second")
    git(root, "tag", "-a", "experiments/foobar/v9.0.0", "-m", "another experiment")
    return root


def test_load_at_a_tag_gets_the_old_spec_and_template(repo):
    old = load_version(repo, "foo", "v1.0.0")
    assert old.spec.model == "fake" and old.spec.prompt.system == "old prompt"
    assert old.file == "experiments/foo/v1.0.0:.experiments/foo/experiment.yaml"
    assert load_version(repo, "foo", "1.1.0").spec.prompt.system == "new prompt"  # the "v" is optional
    assert load(repo, "foo").spec.model == "gpt4o_mini"  # the working tree is untouched


def test_list_versions_and_next(repo):
    assert list_versions(repo, "foo") == ["v1.0.0", "v1.1.0"]
    assert list_versions(repo, "nothing") == []
    assert next_version(["v1.0.0", "v1.1.0"]) == "v1.2.0"
    assert next_version(["v1.10.0", "v1.9.0"], "patch") == "v1.10.1"
    assert next_version([], "major") == "v1.0.0" and next_version(["v1.2.3"], "major") == "v2.0.0"


def test_unknown_tag_lists_the_existing_ones(repo):
    with pytest.raises(ExperimentError) as exc:
        load_version(repo, "foo", "v2.0.0")
    assert str(exc.value) == "version: no tag experiments/foo/v2.0.0; versions of foo: v1.0.0, v1.1.0"
    with pytest.raises(ExperimentError, match="bar has no version tags yet"):
        load_version(repo, "bar", "v1.0.0")
    with pytest.raises(ExperimentError, match=r"version: must look like v1.2.0 \(got 'latest'\)"):
        load_version(repo, "foo", "latest")


def test_not_a_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(ExperimentError, match="is not in a git repository"):
        load_version(tmp_path, "foo", "v1.0.0")
    with pytest.raises(ExperimentError, match="is not in a git repository"):
        list_versions(tmp_path, "foo")


def test_summary_line_and_tag_command():
    line = summary_line("gpt-4o-mini", 0.8312, (0.801, 0.858), 0.4123)
    assert line == "model=gpt-4o-mini | acc=0.83 [0.80,0.86] | $0.41"
    assert summary_line("fake", None, None, 0.0042) == "model=fake | acc=- | $0.0042"
    cmd = tag_command("foo", None, line, existing=["v1.0.0", "v1.1.0"])
    assert cmd == "git tag -a experiments/foo/v1.2.0 -m 'model=gpt-4o-mini | acc=0.83 [0.80,0.86] | $0.41'"
    assert tag_command("foo", "2.0.0", "x").startswith("git tag -a experiments/foo/v2.0.0 -m x")
    with pytest.raises(ExperimentError, match="v1.1.0 is already tagged; next: v1.2.0"):
        tag_command("foo", "v1.1.0", "x", existing=["v1.0.0", "v1.1.0"])


def test_the_tag_command_runs(repo):
    cmd = tag_command("foo", None, "model=fake | acc=0.50 | $0.00", existing=list_versions(repo, "foo"))
    subprocess.run(cmd, shell=True, cwd=repo, check=True, capture_output=True)
    assert list_versions(repo, "foo")[-1] == "v1.2.0"
