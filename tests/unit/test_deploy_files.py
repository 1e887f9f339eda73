"""Static checks of the deployment files: Dockerfile, docker-compose.yml and deploy/k8s.

No Docker engine or cluster is needed: the files are parsed, cross-referenced, and every
``labrun ...`` command they run is checked against the real CLI (``<command> --help`` must
exit 0, which rejects unknown subcommands and unknown options).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from labrun.shared.core.config import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"

LABRUN_SERVICES = {"migrate", "api", "worker", "flower", "fake-llm"}
COMPOSE_SERVICES = {"postgres", "redis", "minio", "minio-init", *LABRUN_SERVICES}
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
# ${VAR}, ${VAR:-default}, ${VAR-default}: compose interpolation, replaced by its default.
INTERPOLATION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}")


def load_docs(path: Path) -> list[Any]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def compose() -> dict[str, Any]:
    (doc,) = load_docs(COMPOSE)
    return doc


def k8s_files() -> list[Path]:
    return sorted(p for p in K8S.iterdir() if p.suffix in (".yaml", ".yml"))


def k8s_docs(*, include_examples: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) of every manifest except kustomization.yaml."""
    out = []
    for path in k8s_files():
        if path == KUSTOMIZATION or (path.name.endswith(".example.yaml") and not include_examples):
            continue
        out += [(path.name, doc) for doc in load_docs(path)]
    return out


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_docs() if doc["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    return doc["spec"]["template"]["metadata"]["labels"]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec["containers"]]


def resolve(arg: str) -> str:
    return INTERPOLATION.sub(lambda m: m.group(1) or "", arg)


def dockerfile_cmd() -> list[str]:
    cmds = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    assert cmds, "Dockerfile has no CMD"
    return json.loads(cmds[-1][len("CMD ") :])


def labrun_commands() -> dict[str, list[str]]:
    """Every ``labrun ...`` argv the deployment files run, keyed by where it comes from."""
    found: dict[str, list[str]] = {"Dockerfile CMD": dockerfile_cmd()}
    for name, service in compose()["services"].items():
        command = service.get("command")
        if command is not None:
            argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
            found[f"compose {name}"] = [resolve(a) for a in argv]
    for file, doc in k8s_docs():
        if doc["kind"] in POD_KINDS:
            for c in containers(doc):
                found[f"{file} {c['name']}"] = [*c.get("command", []), *c.get("args", [])]
    return {where: argv for where, argv in found.items() if argv[:1] == ["labrun"]}


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_installs_every_package_and_runs_as_non_root():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    copied = set(re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", text, re.M))
    sources = {src.rstrip("/") for line in copied for src in line.split()}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    assert packages | {"pyproject.toml", "README.md"} <= sources
    assert "pip install --no-cache-dir ." in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert dockerfile_cmd()[:2] == ["labrun", "api"]


def test_dockerignore_keeps_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "labrun-runs"} <= ignored


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_services_and_startup_order():
    services = compose()["services"]
    assert COMPOSE_SERVICES <= set(services)
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert "mb --ignore-existing local/labrun" in " ".join(services["minio-init"]["command"])
    # Every labrun process runs the one image built from the Dockerfile.
    labrun = {n for n, s in services.items() if "build" in s}
    assert labrun >= LABRUN_SERVICES
    assert len({services[n]["image"] for n in labrun}) == 1


def test_compose_environment():
    services = compose()["services"]
    for name in ("migrate", "api", "worker", "flower"):
        env = services[name]["environment"]
        for var in ("DATABASE_URL", "REDIS_URL", "ARTIFACTS_URL", "S3_ENDPOINT_URL"):
            assert env.get(f"LABRUN_{var}"), f"{name}: LABRUN_{var}"
    worker = {k: resolve(str(v)) for k, v in services["worker"]["environment"].items()}
    assert worker["OPENAI_BASE_URL"] == "http://fake-llm:8900/v1"
    assert worker["ANTHROPIC_BASE_URL"] == "http://fake-llm:8900"
    assert worker["OPENAI_API_KEY"] and worker["ANTHROPIC_API_KEY"]
    assert worker["LABRUN_WORKER_CONCURRENCY"] == "100"
    raw = services["worker"]["environment"]
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        assert raw[var].startswith("${" + var + ":-"), f"{var} must be overridable from the host"


# --- deploy/k8s -------------------------------------------------------------------------------


def test_every_yaml_file_parses():
    for path in [COMPOSE, *k8s_files()]:
        assert load_docs(path), path


def test_k8s_documents_are_named_resources():
    docs = k8s_docs(include_examples=True)
    assert docs
    for file, doc in docs:
        assert isinstance(doc, dict), file
        assert doc.get("apiVersion"), file
        assert doc.get("kind"), file
        assert (doc.get("metadata") or {}).get("name"), file


def test_kustomization_lists_every_manifest():
    (kustomization,) = load_docs(KUSTOMIZATION)
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    manifests = {p.name for p in k8s_files() if p != KUSTOMIZATION and not p.name.endswith(".example.yaml")}
    assert set(listed) == manifests, (
        f"unlisted: {manifests - set(listed)}, missing: {set(listed) - manifests}"
    )
    # The placeholder Secret must never be applied over the real one.
    assert not any(name.endswith(".example.yaml") for name in listed)


def test_secret_example_holds_placeholders_only():
    (secret,) = load_docs(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert "CHANGE_ME" in value, f"{key} must stay a placeholder"


def test_k8s_references_resolve():
    deployments, services = by_kind("Deployment"), by_kind("Service")
    configmaps = set(by_kind("ConfigMap"))
    secrets = {d["metadata"]["name"] for _, d in k8s_docs(include_examples=True) if d["kind"] == "Secret"}
    for name, dep in deployments.items():
        selector = dep["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels(dep).items(), name
    for name, svc in services.items():
        selector = svc["spec"]["selector"].items()
        targets = [d for d in deployments.values() if selector <= pod_labels(d).items()]
        assert len(targets) == 1, f"service {name} selects {len(targets)} deployments"
        ports = {p["name"] for c in containers(targets[0]) for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, f"service {name}: {port['targetPort']}"
    for file, doc in k8s_docs():
        if doc["kind"] in POD_KINDS:
            for c in containers(doc):
                for source in c.get("envFrom", []):
                    if "configMapRef" in source:
                        assert source["configMapRef"]["name"] in configmaps, file
                    if "secretRef" in source:
                        assert source["secretRef"]["name"] in secrets, file
    for name, hpa in by_kind("HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name


def test_api_probes_and_worker_shutdown():
    deployments = by_kind("Deployment")
    api = next(d for d in deployments.values() if containers(d)[0]["command"][:2] == ["labrun", "api"])
    (container,) = containers(api)
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz", probe
    worker = next(d for d in deployments.values() if containers(d)[0]["command"][:2] == ["labrun", "worker"])
    assert worker["spec"]["replicas"] == 2
    # Long enough for an in-flight provider call to finish after SIGTERM.
    timeout_s = Settings.model_fields["request_timeout_s"].default
    assert pod_spec(worker)["terminationGracePeriodSeconds"] >= 2 * timeout_s
    for c in containers(worker):
        assert c["resources"]["requests"] and c["resources"]["limits"]


# --- every labrun command is a real CLI command -----------------------------------------------


def test_labrun_commands_are_real_subcommands():
    commands = labrun_commands()
    subcommands = {" ".join(a for a in argv[1:3] if not a.startswith("-")) for argv in commands.values()}
    assert {"api", "worker", "flower", "fake-llm", "db upgrade"} <= subcommands
    failures = []
    for argv in sorted({tuple(argv) for argv in commands.values()}):
        proc = subprocess.run(
            [sys.executable, "-m", "labrun.cli.main", *argv[1:], "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            where = ", ".join(w for w, a in commands.items() if tuple(a) == argv)
            failures.append(f"{' '.join(argv)} (in {where}): exit {proc.returncode}\n{proc.stderr}")
    assert not failures, "\n".join(failures)
