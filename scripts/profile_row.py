"""Diagnostic (not a test): CPU per datapoint of labrun's predict path, in-process and without
Celery. Creates a scratch database and a run, starts ``labrun fake-llm`` (0 latency) as the OpenAI
endpoint, then calls ``worker.predict.predict_datapoint`` for N datapoints in one thread and
reports process CPU and wall time per datapoint; ``--profile`` adds a cProfile listing.

    .venv/bin/python scripts/profile_row.py --n 1000
    .venv/bin/python scripts/profile_row.py --n 500 --profile 40
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench import procs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="datapoints")
    ap.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    ap.add_argument("--profile", type=int, default=0, help="print the top N cProfile entries")
    args = ap.parse_args()
    db = f"labrun_profile_{secrets.token_hex(3)}"
    with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')  # type: ignore[arg-type]
    artifacts = tempfile.mkdtemp(prefix="labrun-profile-")
    port = procs.free_port()
    labrun = str(Path(sys.executable).parent / "labrun")
    fake = subprocess.Popen([labrun, "fake-llm", "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        os.environ.update(
            LABRUN_DATABASE_URL=args.pg_admin_url.rsplit("/", 1)[0] + "/" + db,
            LABRUN_REDIS_URL=args.redis_url,
            LABRUN_ARTIFACTS_URL=artifacts,
            OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
            OPENAI_API_KEY="sk-profile",
        )
        subprocess.run([labrun, "db", "upgrade"], check=True, capture_output=True)
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", fake, Path(os.devnull))
        run(args.n, args.profile)
    finally:
        fake.terminate()
        shutil.rmtree(artifacts, ignore_errors=True)
        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')  # type: ignore[arg-type]


def run(n: int, top: int) -> None:
    from shared.assign_cat.catalog_io import read_catalog
    from shared.db.session import session_scope
    from shared.runs.create import create_run
    from shared.schemas import RunCreate
    from worker.dispatch import datapoint_ids
    from worker.jobs import TaskState
    from worker.predict import predict_datapoint

    base = read_catalog(ROOT / "examples" / "bigbasket-300.csv")
    rows = [base[i % len(base)].model_copy(update={"id": f"p{i}"}) for i in range(n + 1)]
    with session_scope() as s:
        run_id = create_run(s, RunCreate(model="gpt4o_mini", rows=rows)).id
    first, *ids = datapoint_ids(run_id)
    predict_datapoint(run_id, first, TaskState(), "profile")  # warm-up: clients, caches, imports
    profiler = cProfile.Profile() if top else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for dp in ids:
        predict_datapoint(run_id, dp, TaskState(), "profile")
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tag = " (under cProfile)" if profiler else ""
    per = 1000 / len(ids)
    print(f"{len(ids)} datapoints: {cpu * per:.2f} ms CPU, {wall * per:.2f} ms wall each{tag}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    main()
