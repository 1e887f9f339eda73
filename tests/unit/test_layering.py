"""The layout's rules, checked on the source: dependencies point one way, shared/ shows its floors,
no import cycle between modules, and every package folder is in the wheel."""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
TOPS = ("api", "worker", "shared", "cli")
# shared/'s floors, bottom first: a module imports only its own floor or lower ones.
FLOORS = {"core": 0, "storage": 1, "usecases": 2, "runs": 3, "analysis": 4, "experiments": 5}
SIDE = {"client": {"core"}, "testing": {"core"}}  # beside the floors, over the call contract only


def modules() -> dict[str, Path]:
    out = {}
    for top in TOPS:
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out["labrun." + ".".join(parts)] = path
    return out


def imports(path: Path, name: str) -> set[str]:
    """Every labrun module ``path`` imports, at any depth (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("labrun.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labrun."):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: {i for i in imports(p, m) if i in mods and i != m} for m, p in mods.items()}


def part(module: str, depth: int) -> str:
    pieces = module.split(".")
    return pieces[depth] if len(pieces) > depth else ""


def test_api_and_worker_depend_on_shared_never_on_each_other(graph):
    for mod, deps in graph.items():
        top = part(mod, 1)
        bad = {d for d in deps if part(d, 1) in {"api": {"worker", "cli"}, "worker": {"api", "cli"},
                                                  "shared": {"api", "worker", "cli"}}.get(top, set())}  # fmt: skip
        assert not bad, f"{mod} imports {sorted(bad)}"


def test_shared_floors_import_only_downwards(graph):
    for mod, deps in graph.items():
        if part(mod, 1) != "shared" or not part(mod, 2):
            continue
        floor = part(mod, 2)
        for dep in (d for d in deps if part(d, 1) == "shared"):
            target = part(dep, 2)
            if floor in SIDE:
                assert target in SIDE[floor] | {floor}, f"{mod} ({floor}) imports {dep}"
            elif target in FLOORS and floor in FLOORS:
                assert FLOORS[target] <= FLOORS[floor], f"{mod} (floor {floor}) imports upward: {dep}"
            else:
                assert target == floor or target in FLOORS, f"{mod} imports {dep}"


def test_no_import_cycles_between_modules(graph):
    # Tarjan's strongly connected components over module imports; a package's __init__ re-export
    # of its own children is not a cycle worth reporting.
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w.startswith(v + "."):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_every_package_folder_is_in_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = defaultdict(set)
    for top in TOPS:
        for init in (ROOT / top).rglob("*.py"):
            folders["labrun." + ".".join(init.parent.relative_to(ROOT).parts)].add(init.name)
    assert set(folders) <= listed, sorted(set(folders) - listed)
