"""A small synchronous client of the labrun HTTP API, for other services and notebooks.

    from labrun.shared.client import LabrunClient

    with LabrunClient("http://labrun-api:8000", api_key="lr_...") as lab:  # or LABRUN_API_URL/_KEY
        run = lab.submit([{"id": "1", "title": "Cocoa bar", "category": "Snacks > Bars"}], model="haiku")
        lab.submit_file("examples/bigbasket-300.csv", limit=50,
                        taxonomy_source="google", taxonomy_file="examples/bigbasket-taxonomy.txt")
        final = lab.wait(run["run_id"], timeout_s=600)
        print(final["status"], lab.metrics(run["run_id"]))

Every method returns the decoded JSON; any 4xx/5xx raises :class:`LabrunAPIError` carrying the
server's ``detail`` (for 422s, a list of ``{"loc", "msg", "type"}`` naming the field at fault).

Without the HTTP API, a service sharing labrun's database and broker creates the run with
``labrun.shared.runs.service.submit`` (validates, inserts the queued run in one transaction, then sends
the dispatch task) and can (re-)enqueue it by Celery task name, never importing worker code::

    from labrun.shared.storage.broker import client_app
    from labrun.shared.runs.service import submit
    from labrun.shared.core.schemas import RunCreate

    run_id = submit(RunCreate(rows=[{"title": "Cocoa bar", "category": "Snacks"}])).run_id
    client_app().send_task("labrun.dispatch", args=[run_id])  # idempotent: only a queued run starts
"""

from __future__ import annotations

import json
import mimetypes
import os
import time
from pathlib import Path
from typing import Any

import httpx


class LabrunAPIError(RuntimeError):
    """The API answered 4xx/5xx. ``detail`` is the server's ``detail`` (a string or a list)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"HTTP {status_code}: {_describe(detail)}")


def _describe(detail: Any) -> str:
    """``[{"loc": ["body", "rows", 0, "title"], "msg": "Field required"}]`` -> ``body.rows.0.title: ...``."""
    if not isinstance(detail, list):
        return str(detail)
    entries = [d if isinstance(d, dict) and "msg" in d else {"msg": d} for d in detail]
    return "; ".join(f"{'.'.join(map(str, d.get('loc', ())))}: {d['msg']}".lstrip(": ") for d in entries)


def _form_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class LabrunClient:
    """``base_url`` and ``api_key`` default to ``LABRUN_API_URL`` (else ``http://127.0.0.1:8000``)
    and ``LABRUN_API_KEY``; the key goes in ``Authorization: Bearer``. ``http``: an
    ``httpx.Client`` to use instead of building one (e.g. a FastAPI ``TestClient``)."""

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        *,
        api_key: str | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._owned = http is None
        base_url = base_url or os.environ.get("LABRUN_API_URL") or "http://127.0.0.1:8000"
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        key = api_key if api_key is not None or http is not None else os.environ.get("LABRUN_API_KEY")
        if key:
            self.http.headers["Authorization"] = f"Bearer {key}"

    def __enter__(self) -> LabrunClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except (ValueError, AttributeError):
                detail = response.text or response.reason_phrase
            raise LabrunAPIError(response.status_code, detail)
        return response.json()

    def health(self) -> dict:
        return self._request("GET", "/healthz")

    def submit(
        self, rows: list[dict], model: str | None = None, use_case: str | None = None, **fields: Any
    ) -> dict:
        """Submit rows inline. ``fields``: any ``RunCreate`` field (``options={...}`` for the use
        case's options, ``prompt={...}``, ``experiment``, ``dataset_name``, ``limit``,
        ``max_tokens``; assign-cat also takes ``taxonomy={...}``)."""
        body = {"rows": rows, "model": model, "use_case": use_case, **fields}
        return self._request("POST", "/runs", json={k: v for k, v in body.items() if v is not None})

    def submit_file(
        self,
        path: str | Path,
        model: str | None = None,
        use_case: str | None = None,
        files: dict[str, str | Path] | None = None,
        **form: Any,
    ) -> dict:
        """Upload a data file. ``form``: ``limit``, ``experiment``, ``dataset_name``, ``format``,
        ``max_tokens``, ``temperature``, ``seed``, ``cache``, ``max_cost_usd``, ``prompt_system``,
        ``prompt_user``, ``options`` (a dict), and any of the
        use case's options; ``files``: options given as files (assign-cat: ``taxonomy_file``;
        classify: ``labels``), by path. ``taxonomy_file=PATH`` is still accepted as a keyword."""
        path = Path(path)
        uploads = {k: Path(v) for k, v in (files or {}).items()}
        if "taxonomy_file" in form:
            uploads["taxonomy_file"] = Path(form.pop("taxonomy_file"))
        if isinstance(form.get("options"), dict):
            form["options"] = json.dumps(form["options"])
        fields = {"model": model, "use_case": use_case, **form}
        data = {k: _form_value(v) for k, v in fields.items() if v is not None}
        parts = {"file": (path.name, path.read_bytes(), _mime(path))}
        for name, p in uploads.items():
            parts[name] = (p.name, p.read_bytes(), "text/plain")
        return self._request("POST", "/runs", data=data, files=parts)

    def get_run(self, run_id: str) -> dict:
        return self._request("GET", f"/runs/{run_id}")

    def list_runs(self, limit: int = 50, offset: int = 0) -> list[dict]:
        return self._request("GET", "/runs", params={"limit": limit, "offset": offset})

    def predictions(self, run_id: str, **filters: Any) -> dict:
        """One page: ``status``, ``correct`` (bool), ``error_type``, ``offset``, ``limit`` (<= 1000)."""
        params = {k: _form_value(v) for k, v in filters.items() if v is not None}
        return self._request("GET", f"/runs/{run_id}/predictions", params=params)

    def metrics(self, run_id: str) -> list[dict]:
        return self._request("GET", f"/runs/{run_id}/metrics")

    def cancel(self, run_id: str) -> dict:
        return self._request("POST", f"/runs/{run_id}/cancel")

    def retry(self, run_id: str, *, all_failed: bool = False, max_cost_usd: float | None = None) -> dict:
        """Run the run's failed (or budget-skipped, never-run) datapoints again, into the same run."""
        body = {"all_failed": all_failed, "max_cost_usd": max_cost_usd}
        return self._request("POST", f"/runs/{run_id}/retry", json=body)

    def compare(self, a: str, b: str) -> dict:
        """Run ``b`` against run ``a`` over their shared datapoints (differences are B - A)."""
        return self._request("GET", "/compare", params={"a": a, "b": b})

    def flips(self, a: str, b: str, direction: str = "a_only", limit: int = 50, offset: int = 0) -> dict:
        """Datapoints right in one run only: ``a_only`` (A right, B wrong) or ``b_only``."""
        params = {"a": a, "b": b, "direction": direction, "limit": limit, "offset": offset}
        return self._request("GET", "/compare/flips", params=params)

    def segments(self, run_id: str, by: str) -> dict:
        """The run's figures by ``by`` (a predictions column, ``input.<col>`` or ``len(input.<col>)``),
        each segment's accuracy with its 95% Wilson interval."""
        return self._request("GET", f"/runs/{run_id}/segments", params={"by": by})

    def export_table(
        self, run_id: str, path: str | Path, table: str = "predictions", format: str = "parquet"
    ) -> Path:
        """Stream one table of the run (``predictions`` or ``metrics``; ``parquet``, ``csv`` or
        ``jsonl``) into ``path``, a file or a directory (then ``<run_id>-<table>.<format>`` in it)."""
        target = Path(path)
        if target.is_dir():
            target = target / f"{run_id}-{table}.{format}"
        params = {"table": table, "format": format}
        with self.http.stream("GET", f"/runs/{run_id}/export", params=params) as response:
            if response.is_error:
                response.read()
                try:
                    detail = response.json().get("detail", response.text)
                except (ValueError, AttributeError):
                    detail = response.text or response.reason_phrase
                raise LabrunAPIError(response.status_code, detail)
            with target.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
        return target

    def wait(self, run_id: str, poll_s: float = 2.0, timeout_s: float | None = None) -> dict:
        """Poll until the run is final (succeeded/partial/failed/cancelled); returns the last RunOut.
        Raises ``TimeoutError`` after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            run = self.get_run(run_id)
            if run["final"]:
                return run
            if deadline is not None and time.monotonic() + poll_s > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']} after {timeout_s}s")
            time.sleep(poll_s)


def _mime(path: Path) -> str:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "application/x-ndjson"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
