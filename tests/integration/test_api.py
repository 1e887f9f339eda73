"""The HTTP API against real Postgres and Redis (no worker: runs stay queued, the dispatch message
waits in the ``labrun.control`` Redis list)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labrun.api.main import create_app
from labrun.shared.client import LabrunAPIError, LabrunClient
from labrun.shared.storage.db.models import Datapoint, Dataset, Run
from labrun.shared.storage.db.session import session_scope

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[2] / "examples"
CONTROL = "labrun.control"
RUN_ID = re.compile(r"^assign-cat-\d{4}-\d{2}-\d{2}-\d{6}-[0-9a-f]{4}$")
ROWS = [
    {"id": "a1", "title": "Cocoa protein bar", "brand": "Flat Tummies", "category": "Snacks > Bars"},
    {"id": "a2", "title": "Fluoride free toothpaste", "category": "Beauty & Hygiene > Oral Care"},
    {"id": "a3", "title": "Jasmine camphor cone", "category": "Cleaning > Pooja Needs"},
]
CSV_HEADER = "id,title,description,brand,category\n"


@pytest.fixture
def client(settings_env, redis_url, project_key):
    from labrun.shared.storage.broker import client_app
    from tests.workers import purge_queues

    purge_queues(redis_url)  # no leftovers of other test modules' runs

    client_app.cache_clear()  # the producer must use this test's broker
    with TestClient(create_app(), headers=project_key.headers) as c:
        yield c
    client_app.cache_clear()


def db_counts() -> tuple[int, int, int]:
    with session_scope() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Run, Dataset, Datapoint))


def db_run(run_id: str) -> Run:
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return run


def last_dispatch(redis_conn) -> tuple[str, list]:
    """Task name and args of the newest message of the control queue."""
    message = json.loads(redis_conn.lindex(CONTROL, 0))
    args = json.loads(base64.b64decode(message["body"]))[0]
    return message["headers"]["task"], args


def upload(client: TestClient, csv: bytes | None = None, taxonomy: bytes | None = None, **form):
    files = {"file": ("bigbasket-300.csv", csv or (EXAMPLES / "bigbasket-300.csv").read_bytes(), "text/csv")}
    if taxonomy is not None:
        files["taxonomy_file"] = ("taxonomy.txt", taxonomy, "text/plain")
    return client.post("/runs", files=files, data={k: str(v) for k, v in form.items()})


def test_healthz_and_openapi_document_both_bodies(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "labrun"
    body = spec["paths"]["/runs"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/RunCreate"}
    form = body["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert {"model", "limit", "taxonomy_source", "taxonomy_file", "prompt_user"} <= set(form["properties"])
    schemas = spec["components"]["schemas"]
    refs = re.findall(r'"#/components/schemas/(\w+)"', json.dumps(spec))
    assert {"RunCreate", "PromptSpec"} <= set(refs)
    assert set(refs) <= set(schemas), "every $ref resolves"
    assert "202" in spec["paths"]["/runs"]["post"]["responses"]
    assert client.get("/docs").status_code == 200


def test_json_submit_then_inspect_list_and_cancel(client, redis_conn):
    queued = redis_conn.llen(CONTROL)
    r = client.post("/runs", json={"rows": ROWS, "model": "gpt4o_mini", "experiment": "api-json"})
    assert r.status_code == 202, r.text
    created = r.json()
    run_id = created["run_id"]
    assert RUN_ID.match(run_id) and created == {
        "run_id": run_id,
        "status": "queued",
        "n_total": 3,
        "rows_pending": False,
        "warnings": [],
    }
    assert redis_conn.llen(CONTROL) == queued + 1
    assert last_dispatch(redis_conn) == ("labrun.dispatch", [run_id])
    row = db_run(run_id)
    assert (row.status, row.n_total, row.model_alias) == ("queued", 3, "gpt4o_mini")

    run = client.get(f"/runs/{run_id}").json()
    assert (run["id"], run["status"], run["experiment"], run["use_case"]) == (
        run_id,
        "queued",
        "api-json",
        "assign-cat",
    )
    assert run["counts"] == {"total": 3, "done": 0, "succeeded": 0, "failed": 0, "pending": 3}
    assert run["progress"] == 0.0 and run["cost_usd"] == 0.0 and run["eta_seconds"] is None
    assert run_id in [x["id"] for x in client.get("/runs", params={"limit": 1000}).json()]

    page = client.get(f"/runs/{run_id}/predictions").json()
    assert page == {"items": [], "total": 0, "offset": 0, "limit": 100}
    page = client.get(
        f"/runs/{run_id}/predictions",
        params={"status": "failed", "correct": "false", "error_type": "timeout", "limit": 5},
    )
    assert page.status_code == 200 and page.json()["limit"] == 5
    assert client.get(f"/runs/{run_id}/metrics").json() == []

    assert client.post(f"/runs/{run_id}/cancel").json() == {"run_id": run_id, "status": "cancelled"}
    run = client.get(f"/runs/{run_id}").json()
    assert run["status"] == "cancelled" and run["finished_at"] is None  # finalize sets it
    assert client.post(f"/runs/{run_id}/cancel").json()["status"] == "cancelled"


def test_query_parameters_are_validated(client):
    run_id = client.post("/runs", json={"rows": ROWS}).json()["run_id"]
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"status": "done"}, {"correct": "maybe"}):
        r = client.get(f"/runs/{run_id}/predictions", params=params)
        assert r.status_code == 422, params
        assert r.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_csv_upload_with_limit(client, redis_conn):
    queued = redis_conn.llen(CONTROL)
    r = upload(client, limit=50, experiment="api-upload", model="gpt4o")
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    assert RUN_ID.match(run_id) and r.json()["n_total"] == 50
    assert redis_conn.llen(CONTROL) == queued + 1
    assert last_dispatch(redis_conn) == ("labrun.dispatch", [run_id])
    run = db_run(run_id)
    assert (run.status, run.n_total, run.model_alias) == ("queued", 50, "gpt4o")
    assert run.config["taxonomy"]["source"] == "labels"
    with session_scope() as s:
        dataset = s.get(Dataset, run.dataset_id)
        # datasets are content-addressed: the same 50 rows submitted earlier are reused
        assert dataset.n_rows == 50 and len(dataset.content_sha256) == 64
        first = s.scalar(select(Datapoint).where(Datapoint.dataset_id == dataset.id, Datapoint.position == 0))
        assert first.external_id == "2662" and first.inputs["title"] == "Protein Bars - Cocoa"
    assert client.get(f"/runs/{run_id}").json()["counts"]["pending"] == 50


@pytest.mark.parametrize("source", ["google", None])
def test_csv_upload_with_google_taxonomy_file(client, source):
    taxonomy = (EXAMPLES / "bigbasket-taxonomy.txt").read_bytes()
    form = {"limit": 20, "max_candidates": 40, "prompt_user": "{title}\n{categories}"}
    if source:
        form["taxonomy_source"] = source
    r = upload(client, taxonomy=taxonomy, **form)
    assert r.status_code == 202, r.text
    run = db_run(r.json()["run_id"])
    assert run.n_total == 20
    assert run.config["taxonomy"]["source"] == "taxonomy.txt"
    assert len(run.config["taxonomy"]["paths"]) == 467
    assert "Beauty & Hygiene > Oral Care > Toothpaste" in run.config["taxonomy"]["paths"]
    assert run.config["prompt"]["max_candidates"] == 40
    assert run.config["prompt"]["user"] == "{title}\n{categories}"


def test_csv_upload_with_path_list_taxonomy(client):
    paths = b"# my taxonomy\nSnacks > Bars\nBeauty & Hygiene > Oral Care > Toothpaste\n\nHome\n"
    r = upload(client, taxonomy=paths, taxonomy_source="paths", limit=5)
    assert r.status_code == 202, r.text
    taxonomy = db_run(r.json()["run_id"]).config["taxonomy"]
    assert taxonomy["paths"] == ["Beauty & Hygiene > Oral Care > Toothpaste", "Home", "Snacks > Bars"]


def test_jsonl_and_json_uploads(client):
    jsonl = "\n".join(json.dumps(r) for r in ROWS).encode()
    files = {"file": ("rows.jsonl", jsonl, "application/x-ndjson")}
    r = client.post("/runs", files=files, data={"dataset_name": "three rows"})
    assert r.status_code == 202, r.text
    run = db_run(r.json()["run_id"])
    assert run.n_total == 3
    with session_scope() as s:
        assert s.get(Dataset, run.dataset_id).n_rows == 3
    # a JSON list in a file whose name says nothing: the explicit format wins
    files = {"file": ("export.txt", json.dumps(ROWS[:2]).encode(), "text/plain")}
    r = client.post("/runs", files=files, data={"format": "json"})
    assert r.status_code == 202 and r.json()["n_total"] == 2


def _json(body):
    return lambda c: c.post("/runs", json=body)


def _form(csv: str | None = None, taxonomy: bytes | None = None, **form):
    return lambda c: upload(c, csv.encode() if csv else None, taxonomy, **form)


BAD_REQUESTS = {
    "unknown model": (
        _json({"rows": ROWS, "model": "gpt-9"}),
        ["body", "model"],
        "known aliases: fake, fake_small, gpt4_turbo, gpt4o, gpt4o_mini",
    ),
    "empty rows": (_json({"rows": []}), ["body", "rows"], "at least 1 item"),
    "row without title": (
        _json({"rows": [ROWS[0], {"id": "x", "brand": "b"}]}),
        ["body", "rows", 1, "title"],
        "Field required",
    ),
    "blank title": (_json({"rows": [{"title": "  "}]}), ["body", "rows", 0, "title"], "at least 1 character"),
    "duplicate ids": (_json({"rows": [*ROWS, ROWS[0]]}), ["body", "rows", 3, "id"], "duplicate id 'a1'"),
    "bad prompt variable": (
        _json({"rows": ROWS, "prompt": {"user": "{title} {price} {categories}"}}),
        ["body", "prompt", "user"],
        "unknown variable(s) {price}",
    ),
    "limit 0": (_json({"rows": ROWS, "limit": 0}), ["body", "limit"], "greater than or equal to 1"),
    "google without text": (
        _json({"rows": ROWS, "taxonomy": {"source": "google"}}),
        ["body", "taxonomy", "text"],
        "needs taxonomy.text",
    ),
    "unknown field": (
        _json({"rows": ROWS, "modle": "x"}),
        ["body", "modle"],
        "Extra inputs are not permitted",
    ),
    "no labels": (_json({"rows": [{"title": "t"}]}), ["body", "taxonomy", "labels"], "no row has a category"),
    "invalid json": (
        lambda c: c.post("/runs", content=b"{oops", headers={"content-type": "application/json"}),
        ["body"],
        "Invalid JSON",
    ),
    "csv without title column": (
        _form("id,name\n1,Soap\n"),
        ["body", "file", "title"],
        "missing required column",
    ),
    "csv duplicate ids": (
        _form(CSV_HEADER + "7,Soap,,,A > B\n7,Tea,,,A > C\n"),
        ["body", "file", "row 2", "id"],
        "duplicate id '7'",
    ),
    "csv blank title": (
        _form(CSV_HEADER + "1,Soap,,,A\n2,,,,A\n"),
        ["body", "file", "row 2", "title"],
        "at least 1",
    ),
    "form unknown model": (_form(model="nope"), ["body", "model"], "known aliases"),
    "form limit 0": (_form(limit=0), ["body", "limit"], "greater than or equal to 1"),
    "form limit not a number": (_form(limit="ten"), ["body", "limit"], "valid integer"),
    "form bad prompt variable": (
        _form(prompt_user="{oops}"),
        ["body", "prompt_user"],
        "unknown variable(s) {oops}",
    ),
    "google without file": (
        _form(taxonomy_source="google"),
        ["body", "taxonomy_file"],
        "needs a taxonomy_file",
    ),
    "bad taxonomy_source": (
        _form(taxonomy_source="wiki"),
        ["body", "taxonomy_source"],
        "one of labels, google",
    ),
    "labels with a file": (
        _form(taxonomy=b"A > B\n", taxonomy_source="labels"),
        ["body", "taxonomy_source"],
        "drop taxonomy_file",
    ),
    "bad google line": (
        _form(taxonomy=b"1 - A > B\nA > C\n", taxonomy_source="google"),
        ["body", "taxonomy_file"],
        "line 2",
    ),
    "max_candidates 0": (_form(max_candidates=0), ["body", "max_candidates"], "greater than or equal to 1"),
    "unknown form field": (_form(limt=5), ["body", "limt"], "unknown form field 'limt'"),
    "unknown file field": (
        lambda c: c.post("/runs", data={"model": "gpt4o"}, files={"x": ("a", b"b")}),
        ["body", "x"],
        "unknown form field 'x'",
    ),
    "file is text": (
        lambda c: c.post("/runs", data={"file": "id,title"}, files={"taxonomy_file": ("t", b"A")}),
        ["body", "file"],
        "must be a file upload",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_requests_are_422_naming_the_field_and_create_nothing(client, redis_conn, case):
    send, loc, message = BAD_REQUESTS[case]
    before, queued = db_counts(), redis_conn.llen(CONTROL)
    r = send(client)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and all(set(d) == {"loc", "msg", "type"} for d in detail)
    assert any(d["loc"] == loc and message in d["msg"] for d in detail), detail
    assert db_counts() == before
    assert redis_conn.llen(CONTROL) == queued


def test_missing_file_and_wrong_content_type(client):
    r = client.post(
        "/runs", data={"model": "gpt4o", "limit": "3"}, files={"taxonomy_file": ("t.txt", b"A > B")}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "file"] and r.json()["detail"][0]["type"] == "missing"
    r = client.post("/runs", content=b"title\nSoap\n", headers={"content-type": "text/csv"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]


def test_catalog_errors_list_every_bad_row(client):
    r = upload(client, (CSV_HEADER + "1,,,,A\n2,Tea,,,A\n3,,,,A\n").encode())
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [
        ["body", "file", "row 1", "title"],
        ["body", "file", "row 3", "title"],
    ]


@pytest.mark.parametrize("path", ["/runs/nope", "/runs/nope/predictions", "/runs/nope/metrics"])
def test_unknown_run_is_404(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.json() == {"detail": "run nope not found"}


def test_cancel_unknown_run_is_404(client):
    r = client.post("/runs/assign-cat-2000-01-01-000000-dead/cancel")
    assert r.status_code == 404
    assert r.json() == {"detail": "run assign-cat-2000-01-01-000000-dead not found"}


def test_python_client(client, redis_conn):
    lab = LabrunClient(http=client)
    queued = redis_conn.llen(CONTROL)
    created = lab.submit(ROWS, model="haiku", experiment="api-client", taxonomy={"source": "labels"})
    run_id = created["run_id"]
    assert RUN_ID.match(run_id) and created["n_total"] == 3
    assert redis_conn.llen(CONTROL) == queued + 1
    run = lab.get_run(run_id)
    assert (run["status"], run["model_alias"], run["counts"]["pending"]) == ("queued", "haiku", 3)
    assert run_id in [r["id"] for r in lab.list_runs(limit=1000)]
    page = lab.predictions(run_id, status="succeeded", correct=True, limit=10)
    assert page == {"items": [], "total": 0, "offset": 0, "limit": 10}
    assert lab.metrics(run_id) == []
    with pytest.raises(TimeoutError, match="still queued"):
        lab.wait(run_id, poll_s=0.01, timeout_s=0.05)
    assert lab.cancel(run_id) == {"run_id": run_id, "status": "cancelled"}
    assert lab.wait(run_id, poll_s=0.01, timeout_s=5)["status"] == "cancelled"

    uploaded = lab.submit_file(
        EXAMPLES / "bigbasket-300.csv",
        limit=7,
        taxonomy_source="google",
        taxonomy_file=EXAMPLES / "bigbasket-taxonomy.txt",
    )
    assert uploaded["n_total"] == 7
    assert db_run(uploaded["run_id"]).config["taxonomy"]["source"] == "bigbasket-taxonomy.txt"


def test_python_client_errors_carry_the_detail(client, tmp_path):
    lab = LabrunClient(http=client)
    before = db_counts()
    with pytest.raises(LabrunAPIError) as err:
        lab.submit([{"id": "1", "brand": "no title"}])
    assert err.value.status_code == 422
    assert err.value.detail[0]["loc"] == ["body", "rows", 0, "title"]
    assert "body.rows.0.title: Field required" in str(err.value)
    with pytest.raises(LabrunAPIError, match="body.model: unknown model alias 'gpt-9'; known aliases"):
        lab.submit(ROWS, model="gpt-9")
    bad_csv = tmp_path / "dupes.csv"
    bad_csv.write_text(CSV_HEADER + "1,Soap,,,A\n1,Tea,,,B\n")
    with pytest.raises(LabrunAPIError, match="body.file.row 2.id: duplicate id '1'"):
        lab.submit_file(bad_csv)
    with pytest.raises(LabrunAPIError, match="run nope not found") as err:
        lab.get_run("nope")
    assert err.value.status_code == 404 and err.value.detail == "run nope not found"
    assert db_counts() == before


def test_python_client_with_custom_transport():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(502, text="bad gateway")

    with LabrunClient("http://labrun.test", transport=httpx.MockTransport(handler)) as lab:
        assert lab.health() == {"status": "ok"}
        with pytest.raises(LabrunAPIError) as err:
            lab.get_run("x")
    assert err.value.status_code == 502 and err.value.detail == "bad gateway"
