"""Probes of scripts/bench_scale.py: memory sampling, the upload, database times, Redis memory, ETA."""

from __future__ import annotations

import http.client
import json
import math
import secrets
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench import labstack

MB = 1024  # kB per MB (VmHWM is in kB)


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


class Sampler(threading.Thread):
    """Every ``every`` s: RSS of the API and workers, Redis used_memory and queued messages."""

    def __init__(self, redis_url: str, pids: dict[str, int], every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.r = redis.Redis.from_url(redis_url)
        self.pids, self.every = pids, every
        self.samples: list[dict[str, Any]] = []
        self.msg_bytes: list[int] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            try:
                pipe = self.r.pipeline(transaction=False)
                pipe.info("memory")
                pipe.llen("labrun.predict")
                pipe.hlen("unacked")
                pipe.lindex("labrun.predict", 0)
                mem, llen, hlen, msg = pipe.execute()
            except redis.RedisError:
                continue
            if msg:
                self.msg_bytes.append(len(msg))
            s = {"t": time.time(), "used_memory": mem["used_memory"], "llen": llen, "unacked": hlen,
                 "dataset": mem.get("used_memory_dataset", 0), "clients": mem.get("mem_clients_normal", 0)}  # fmt: skip
            for name, pid in self.pids.items():
                s[f"rss_{name}_kb"] = labstack.proc_status(pid).get("VmRSS", 0)
            self.samples.append(s)

    def finish(self) -> list[dict[str, Any]]:
        self._halt.set()
        self.join()
        self.r.close()
        return self.samples


def multipart(path: Path, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "bench" + secrets.token_hex(12)
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    parts += [head.encode(), path.read_bytes(), f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_run(api_url: str, path: Path, fields: dict[str, str]) -> dict[str, Any]:
    """``POST /runs`` over a plain socket: times the upload (until the last byte is handed to the
    kernel) and the answer after it."""
    body, ctype = multipart(path, fields)
    host, port = api_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    conn.connect()
    t0 = time.perf_counter()
    conn.putrequest("POST", "/runs")
    conn.putheader("Content-Type", ctype)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body)
    t_sent = time.perf_counter()
    resp = conn.getresponse()
    data = resp.read()
    t_ans = time.perf_counter()
    answered_at = time.time()
    conn.close()
    if resp.status != 202:
        raise RuntimeError(f"POST /runs answered {resp.status}: {data[:2000]!r}")
    return {
        "upload_bytes": len(body),
        "upload_s": t_sent - t0,
        "end_of_upload_to_answer_s": t_ans - t_sent,
        "post_total_s": t_ans - t0,
        "answered_at": answered_at,
        "answer": json.loads(data),
    }


def db_times(database_url: str, run_id: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        p = conn.execute(
            "SELECT count(*), min(extract(epoch FROM started_at)), min(extract(epoch FROM finished_at)),"
            " max(extract(epoch FROM finished_at)) FROM predictions WHERE run_id = %s",
            (run_id,),
        ).fetchone()
        r = conn.execute(
            "SELECT status, n_total, extract(epoch FROM created_at), extract(epoch FROM started_at),"
            " extract(epoch FROM finished_at) FROM runs WHERE id = %s",
            (run_id,),
        ).fetchone()
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM predictions WHERE run_id = %s GROUP BY status", (run_id,)
            ).fetchall()
        )
    f = lambda v: None if v is None else float(v)  # noqa: E731
    assert p is not None and r is not None
    return {
        "prediction_rows": p[0],
        "first_started_at": f(p[1]),
        "first_finished_at": f(p[2]),
        "last_finished_at": f(p[3]),
        "status": r[0],
        "n_total": r[1],
        "run_created_at": f(r[2]),
        "run_started_at": f(r[3]),
        "run_finished_at": f(r[4]),
        "prediction_statuses": statuses,
    }


def key_memory(r: redis.Redis, top: int = 12) -> dict[str, Any]:
    """MEMORY USAGE of the biggest keys of the db (with their length for lists and hashes)."""
    sizes = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        n = (
            r.llen(key)
            if kind == "list"
            else r.hlen(key)
            if kind == "hash"
            else r.zcard(key)
            if kind == "zset"
            else None
        )
        sizes.append((r.memory_usage(key) or 0, key.decode(errors="replace"), kind, n))
    sizes.sort(reverse=True)
    return {"total_keys": len(sizes), "bytes_all_keys": sum(s[0] for s in sizes),
            "top": [{"key": k, "bytes": b, "type": t, "len": n} for b, k, t, n in sizes[:top]]}  # fmt: skip


def eta_check(polls: list[dict[str, Any]], answered_at: float, finished_at: float) -> dict[str, Any]:
    """ETA reported in the first minute against the actual time left (finished_at - poll time)."""
    out = []
    for p in polls:
        since = p["t"] - answered_at
        if since > 60 or p.get("eta_seconds") is None:
            continue
        actual = finished_at - p["t"]
        out.append(
            {
                "since_answer_s": round(since, 1),
                "eta_s": round(p["eta_seconds"], 1),
                "actual_left_s": round(actual, 1),
                "ratio": round(p["eta_seconds"] / actual, 3) if actual > 0 else None,
                "progress": p.get("progress"),
            }
        )
    ratios = [e["ratio"] for e in out if e["ratio"] is not None]
    first = next((p["t"] - answered_at for p in polls if p.get("eta_seconds") is not None), None)
    return {
        "first_eta_after_answer_s": first,
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_min": min(ratios, default=None),
        "ratio_max": max(ratios, default=None),
        "samples": out[:: max(1, len(out) // 12)],
    }
