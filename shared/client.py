"""A small synchronous client of the labrun HTTP API, for other services and notebooks.

    from shared.client import LabrunClient

    with LabrunClient("http://labrun-api:8000") as lab:
        run = lab.submit([{"id": "1", "title": "Cocoa bar", "category": "Snacks > Bars"}], model="haiku")
        lab.submit_file("examples/bigbasket-300.csv", limit=50,
                        taxonomy_source="google", taxonomy_file="examples/bigbasket-taxonomy.txt")
        final = lab.wait(run["run_id"], timeout_s=600)
        print(final["status"], lab.metrics(run["run_id"]))

Every method returns the decoded JSON; any 4xx/5xx raises :class:`LabrunAPIError` carrying the
server's ``detail`` (for 422s, a list of ``{"loc", "msg", "type"}`` naming the field at fault).

Without the HTTP API, a service sharing labrun's database and broker creates the run with
``shared.runs.service.submit`` (validates, inserts the queued run in one transaction, then sends
the dispatch task) and can (re-)enqueue it by Celery task name, never importing worker code::

    from shared.queue import client_app
    from shared.runs.service import submit
    from shared.schemas import RunCreate

    run_id = submit(RunCreate(rows=[{"title": "Cocoa bar", "category": "Snacks"}])).run_id
    client_app().send_task("labrun.dispatch", args=[run_id])  # idempotent: only a queued run starts
"""

from __future__ import annotations

import mimetypes
import time
from pathlib import Path
from typing import Any

import httpx

FINAL_STATUSES = frozenset({"succeeded", "partial", "failed", "cancelled"})


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
    """``http``: an ``httpx.Client`` to use instead of building one (e.g. a FastAPI ``TestClient``)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self._owned = http is None
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

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

    def submit(self, rows: list[dict], model: str | None = None, **options: Any) -> dict:
        """Submit rows inline. ``options``: any ``RunCreate`` field (``taxonomy={...}``,
        ``prompt={...}``, ``experiment``, ``dataset_name``, ``limit``, ``max_tokens``)."""
        body = {"rows": rows, "model": model, **options}
        return self._request("POST", "/runs", json={k: v for k, v in body.items() if v is not None})

    def submit_file(self, path: str | Path, model: str | None = None, **form: Any) -> dict:
        """Upload a catalog file. ``form``: ``limit``, ``experiment``, ``dataset_name``, ``format``,
        ``max_candidates``, ``max_tokens``, ``taxonomy_source``, ``prompt_system``, ``prompt_user``,
        and ``taxonomy_file`` (a path)."""
        path = Path(path)
        taxonomy = form.pop("taxonomy_file", None)
        data = {k: _form_value(v) for k, v in {"model": model, **form}.items() if v is not None}
        files = {"file": (path.name, path.read_bytes(), _mime(path))}
        if taxonomy is not None:
            tax = Path(taxonomy)
            files["taxonomy_file"] = (tax.name, tax.read_bytes(), "text/plain")
        return self._request("POST", "/runs", data=data, files=files)

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

    def wait(self, run_id: str, poll_s: float = 2.0, timeout_s: float | None = None) -> dict:
        """Poll until the run is final (succeeded/partial/failed/cancelled); returns the last RunOut.
        Raises ``TimeoutError`` after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            run = self.get_run(run_id)
            if run["status"] in FINAL_STATUSES:
                return run
            if deadline is not None and time.monotonic() + poll_s > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']} after {timeout_s}s")
            time.sleep(poll_s)


def _mime(path: Path) -> str:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "application/x-ndjson"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
