"""Versions of an experiment are annotated git tags ``experiments/<name>/vX.Y.Z``.

``load_version`` reads the spec (and its template files) as they were at a tag through
``git show <tag>:<path>``, so an old version can be shown, diffed or run again. The dataset
location still resolves in the working tree.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Collection, Sequence
from pathlib import Path

from labrun.shared.experiments import layout
from labrun.shared.experiments.load import Experiment, load_text
from labrun.shared.experiments.spec import ExperimentError

TAG_PREFIX = "experiments"
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def tag_name(name: str, version: str) -> str:
    """``experiments/<name>/vX.Y.Z`` (``version`` with or without its ``v``)."""
    return f"{TAG_PREFIX}/{name}/{normalize(version)}"


def normalize(version: str) -> str:
    """``1.2.0`` or ``v1.2.0`` -> ``v1.2.0``; anything else is an error."""
    m = _SEMVER.match(version.strip())
    if not m:
        raise ExperimentError.one(("version",), f"must look like v1.2.0 (got {version!r})")
    return "v{}.{}.{}".format(*m.groups())


def list_versions(root: Path, name: str) -> list[str]:
    """The versions tagged for ``name`` (``["v1.0.0", "v1.1.0"]``), oldest first."""
    out = _git(root, "tag", "--list", f"{TAG_PREFIX}/{name}/v*").stdout
    found = [t.rsplit("/", 1)[1] for t in out.split()]
    return sorted((v for v in found if _SEMVER.match(v)), key=_key)


def next_version(existing: Sequence[str], bump: str = "minor") -> str:
    """The version after the highest of ``existing`` (``major``/``minor``/``patch``); v1.0.0 first."""
    if not existing:
        return "v1.0.0"
    major, minor, patch = max(_key(normalize(v)) for v in existing)
    if bump == "major":
        return f"v{major + 1}.0.0"
    return f"v{major}.{minor}.{patch + 1}" if bump == "patch" else f"v{major}.{minor + 1}.0"


def load_version(root: Path, name: str, version: str, *, models: Collection[str] | None = None) -> Experiment:
    """The experiment as committed at ``experiments/<name>/<version>``; errors say whether the
    directory is not a git repository or which versions exist."""
    tag = tag_name(name, version)
    if _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{}}", check=False).returncode:
        versions = list_versions(root, name)
        have = f"versions of {name}: {', '.join(versions)}" if versions else f"{name} has no version tags yet"
        raise ExperimentError.one(("version",), f"no tag {tag}; {have}")
    base = posixpath.dirname(layout.spec_relpath(name))

    def read(rel: str) -> str:
        shown = _git(root, "show", f"{tag}:./{posixpath.normpath(posixpath.join(base, rel))}", check=False)
        if shown.returncode:
            raise FileNotFoundError(rel)
        return shown.stdout

    try:
        text = read(layout.SPEC_FILE)
    except FileNotFoundError:
        raise ExperimentError.one(("version",), f"tag {tag} has no {layout.spec_relpath(name)}") from None
    return load_text(
        text, file=f"{tag}:{layout.spec_relpath(name)}", directory=layout.experiment_dir(root, name), read=read,
        models=models,
    )  # fmt: skip


def _key(version: str) -> tuple[int, int, int]:
    m = _SEMVER.match(version)
    assert m is not None
    return int(m[1]), int(m[2]), int(m[3])


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in ``root``; not a repository (or no git) is an ``ExperimentError``."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ExperimentError.one((), "git is not installed (versions are git tags)") from None
    if done.returncode and "not a git repository" in done.stderr.lower():
        raise ExperimentError.one((), f"{root} is not in a git repository (versions are git tags)")
    if check and done.returncode:
        raise ExperimentError.one((), f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done
