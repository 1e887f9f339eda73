"""Diagnostic (not a test): CPU per datapoint of labrun's predict path, in-process and without
Celery. Creates a scratch database and a run, starts ``labrun fake-llm`` (0 latency) as the OpenAI
endpoint, then calls ``predict_datapoint`` for N datapoints in one thread and reports process CPU
and wall time per datapoint; ``--profile`` adds a cProfile listing.

``--tree DIR`` measures another checkout (e.g. a git worktree of an older commit): the script
re-runs itself with ``DIR/.venv/bin/python`` and ``bench/predict_path.py`` picks the code path that
tree's API has, so both figures come from this one script.

    .venv/bin/python scripts/profile_row.py --n 1000
    .venv/bin/python scripts/profile_row.py --n 1000 --tree ../labrun-8890c5a --json out.jsonl
    .venv/bin/python scripts/profile_row.py --n 500 --profile 40
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench import predict_path, procs  # noqa: E402


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="datapoints")
    ap.add_argument("--tree", type=Path, default=ROOT, help="checkout to measure (its .venv is used)")
    ap.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    ap.add_argument("--profile", type=int, default=0, help="print the top N cProfile entries")
    ap.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    ap.add_argument("--json", type=Path, help="append the result as one JSON line to this file")
    return ap.parse_args(argv)


def main() -> None:
    args = parse()
    tree = args.tree.resolve()
    venv = tree / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():  # measure inside the tree's own venv
        python = str(venv / "bin" / "python")
        os.execv(python, [python, __file__, *sys.argv[1:]])
    db = f"labrun_profile_{secrets.token_hex(3)}"
    with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')  # type: ignore[arg-type]
    artifacts = tempfile.mkdtemp(prefix="labrun-profile-")
    port = procs.free_port()
    labrun = str(venv / "bin" / "labrun")
    fake = subprocess.Popen([labrun, "fake-llm", "--port", str(port)], stdout=subprocess.DEVNULL)
    database_url = args.pg_admin_url.rsplit("/", 1)[0] + "/" + db
    try:
        os.environ.update(
            LABRUN_DATABASE_URL=database_url,
            LABRUN_REDIS_URL=args.redis_url,
            LABRUN_ARTIFACTS_URL=artifacts,
            OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
            OPENAI_API_KEY="sk-profile",
        )
        subprocess.run([labrun, "db", "upgrade"], check=True, capture_output=True, cwd=tree)
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", fake, Path(os.devnull))
        result = run(tree, args)
        result["statuses"] = statuses(database_url)
        result["raw_objects"] = sum(1 for p in Path(artifacts).rglob("*") if p.is_file())
    finally:
        fake.terminate()
        fake.wait(10)
        shutil.rmtree(artifacts, ignore_errors=True)
        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')  # type: ignore[arg-type]
    print(f"predictions by status: {result['statuses']}, raw objects: {result['raw_objects']}")
    if args.json:
        with args.json.open("a") as f:
            f.write(json.dumps(result) + "\n")


def run(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    path = predict_path.load()
    run_id, (first, *ids) = path.create_run(tree / "examples" / "bigbasket-300.csv", args.n + 1)
    path.predict(run_id, first)  # warm-up: clients, caches, imports
    profiler = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for dp in ids:
        path.predict(run_id, dp)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    path.close()
    tag = " (under cProfile)" if profiler else ""
    per = 1000 / len(ids)
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    print(f"{tree} @ {commit.stdout.strip()} ({path.api}){tag}")
    print(f"{len(ids)} datapoints: {cpu * per:.2f} ms CPU, {wall * per:.2f} ms wall each")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.profile)
    return {
        "tree": str(tree),
        "commit": commit.stdout.strip(),
        "api": path.api,
        "n": len(ids),
        "cpu_ms": cpu * per,
        "wall_ms": wall * per,
        "profiled": bool(profiler),
        "at": time.time(),
    }


def statuses(database_url: str) -> dict[str, int]:
    """Predictions by status: a check that every datapoint went the whole way (all succeeded)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT status, count(*) FROM predictions GROUP BY status").fetchall()
    return {status: count for status, count in rows}


if __name__ == "__main__":
    main()
