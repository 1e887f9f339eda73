from __future__ import annotations

import json
from pathlib import Path

import pytest

from labrun.shared.usecases.assign_cat.catalog import read_catalog
from labrun.shared.usecases.tables import CatalogError, RowIssue

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).parents[2] / "examples"


def issues(data, *args, **kwargs) -> list[RowIssue]:
    with pytest.raises(CatalogError) as exc:
        read_catalog(data, *args, **kwargs)
    return exc.value.errors


def test_reads_the_bigbasket_example():
    rows = read_catalog(EXAMPLES / "bigbasket-300.csv")
    assert len(rows) == 300
    assert rows[0].id == "2662"
    assert rows[0].title == "Protein Bars - Cocoa"
    assert rows[0].brand == "Flat Tummies"
    assert rows[0].category == "Gourmet & World Food > Snacks, Dry Fruits, Nuts > Healthy, Baked Snacks"
    assert len({r.id for r in rows}) == 300


def test_reads_the_amazon_example_from_bytes_and_text():
    data = (EXAMPLES / "amazon-toys-200.csv").read_bytes()
    from_bytes = read_catalog(data)
    assert len(from_bytes) == 200
    assert from_bytes[0].description == ""
    assert from_bytes == read_catalog(data.decode("utf-8"), "csv")


def test_csv_extra_columns_ignored_header_case_insensitive_defaults():
    text = "Title,Price,CATEGORY,id\nSoap,10,A > B,\nShampoo,12,,x9\n\n"
    rows = read_catalog(text)
    assert [(r.id, r.title, r.category, r.brand) for r in rows] == [
        ("1", "Soap", "A > B", ""),
        ("x9", "Shampoo", None, ""),
    ]


def test_csv_semicolon_and_bom():
    rows = read_catalog("\ufefftitle;brand\nSoap;Dove\n".encode())
    assert (rows[0].title, rows[0].brand) == ("Soap", "Dove")


def test_csv_quoted_multiline_field_keeps_row_numbers():
    text = 'id,title,description\na,Soap,"line one\nline two"\nb,,x\n'
    found = issues(text)
    assert [(i.row, i.field) for i in found] == [(2, "title")]


def test_missing_title_column_lists_the_columns_found():
    (issue,) = issues("id,name,brand\n1,Soap,Dove\n")
    assert (issue.row, issue.field) == (0, "title")
    assert "missing required column 'title'" in issue.message
    assert "'id', 'name', 'brand'" in issue.message


def test_row_errors_name_row_and_field():
    lines = ["id,title,brand"] + [f"{i},Product {i},B" for i in range(1, 21)]
    lines[17] = "17,,B"  # data row 17 has an empty title
    lines[5] = "5,Product 5," + "x" * 1001  # brand too long on data row 5
    found = issues("\n".join(lines))
    assert [(i.row, i.field) for i in found] == [(5, "brand"), (17, "title")]
    with pytest.raises(CatalogError, match=r"row 17, field 'title': String should have at least 1 character"):
        read_catalog("\n".join(lines))


def test_json_missing_field_reports_field_required():
    data = json.dumps([{"title": "a"}, {"brand": "b"}, "nope"])
    found = issues(data)
    assert [(str(i)) for i in found] == [
        "row 2, field 'title': Field required",
        "row 3: expected an object, got str",
    ]


def test_many_errors_are_all_kept_but_the_message_is_capped():
    text = "title,id\n" + "\n".join(f",{i}" for i in range(1, 31))
    with pytest.raises(CatalogError) as exc:
        read_catalog(text)
    assert len(exc.value.errors) == 30
    message = str(exc.value)
    assert "30 problem(s)" in message
    assert "row 20, field 'title'" in message
    assert "row 21," not in message
    assert message.endswith("... and 10 more")


def test_duplicate_ids_name_both_rows():
    (issue,) = issues("id,title\na,x\nb,y\na,z\n")
    assert (issue.row, issue.field) == (3, "id")
    assert issue.message == "duplicate id 'a' (first used on row 1)"


def test_default_id_colliding_with_an_explicit_id():
    (issue,) = issues("id,title\n2,x\n,y\n")
    assert issue.row == 2
    assert "duplicate id '2'" in issue.message


def test_bad_encoding_names_offset_and_line():
    data = "title\nCafé\n".encode("latin-1")
    (issue,) = issues(data)
    assert issue.row == 0
    assert issue.message == "not valid UTF-8: byte 0xe9 at offset 9 (line 2)"


@pytest.mark.parametrize("data", [b"", "", "  \n\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    (issue,) = issues(data)
    assert issue.message == "the file is empty"


def test_header_only_has_no_rows():
    (issue,) = issues("id,title,brand\n")
    assert issue.message == "the catalog has no data rows"


def test_too_many_values_in_a_csv_row():
    (issue,) = issues("id,title\n1,a\n2,b,c\n")
    assert issue.row == 2
    assert "3 values but the header has 2 columns" in issue.message


def test_jsonl():
    text = '{"id": 7, "title": "Soap", "category": "A > B", "extra": 1}\n\n{"title": "Gel"}\n'
    rows = read_catalog(text)
    assert [(r.id, r.title, r.category) for r in rows] == [("7", "Soap", "A > B"), ("3", "Gel", None)]


def test_jsonl_errors_use_line_numbers():
    text = '{"title": "ok"}\n{"title": 5}\n{broken\n[1, 2]\n'
    found = issues(text, filename="upload.jsonl")
    assert [(i.row, i.field) for i in found] == [(2, "title"), (3, ""), (4, "")]
    assert found[1].message.startswith("invalid JSON:")


def test_json_list_and_rows_wrapper():
    items = [{"id": "a", "title": "Soap"}, {"id": "b", "title": "Gel", "brand": "X"}]
    assert [r.id for r in read_catalog(json.dumps(items))] == ["a", "b"]
    wrapped = read_catalog(json.dumps({"rows": items}).encode(), filename="cat.json")
    assert [r.brand for r in wrapped] == ["", "X"]


def test_json_that_is_not_a_list():
    (issue,) = issues('{"title": "x"}', "json")
    assert "expected a JSON list of objects" in issue.message
    (issue,) = issues("[1, 2", "json")
    assert issue.message.startswith("invalid JSON")


def test_format_from_filename_beats_content(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text('title\n"{""a"": 1}"\n', encoding="utf-8")
    (row,) = read_catalog(path)
    assert row.title == '{"a": 1}'
    (row,) = read_catalog(path.read_bytes(), filename="UPLOAD.CSV")
    assert row.title == '{"a": 1}'


def test_explicit_format_wins():
    found = issues('{"title": "x"}\n', "csv")
    assert found[0].field == "title"  # read as a CSV without a title column


def test_csv_lines_split_exactly_as_a_text_stream_would_split_them():
    """csv_records feeds the reader lines cut from the text (no 4-bytes-a-character copy of it);
    they must be the lines ``io.StringIO(text, newline="")`` gives, whatever the line ends."""
    import io
    import random

    from labrun.shared.usecases.table_formats import _lines

    rnd = random.Random(7)
    pieces = ["a", ",", '"', "\r", "\n", "\r\n", "\u2028", "\x85", " ", "é"]
    texts = ["", "x", "a,b\r\n1,2\r\n", 'a,b\n1,"x\ny"\n3,4', "a,b\r1,2\r3,4\r", "a\n\n\nb\n"]
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40))) for _ in range(3000)]
    for text in texts:
        assert list(_lines(text)) == list(io.StringIO(text, newline="")), repr(text)
    mac = read_catalog(b"id,title,category\r1,Tea,Food\r2,Soap,Home\r")  # old Mac line ends
    assert [(r.id, r.title) for r in mac] == [("1", "Tea"), ("2", "Soap")]


def test_the_dataset_digest_is_the_one_of_the_whole_json_document():
    """Datasets are content-addressed: the digest computed row by row must equal the digest of
    ``json.dumps`` of all rows at once, as earlier versions computed it."""
    import hashlib

    from labrun.shared.runs.create import _digest
    from labrun.shared.usecases.values import DatapointIn

    rows = [
        DatapointIn("1", {"title": "Thé vert", "brand": None, "z": 1, "a": [1, "é"]}, "Food > Tea"),
        DatapointIn("2", {"title": 'Soap "mild"\n'}, None),
        DatapointIn("3", {}, "Home"),
    ]
    for n in (1, 2, 3):
        payload = [{"id": d.external_id, "inputs": d.inputs, "expected": d.expected} for d in rows[:n]]
        assert _digest(rows[:n]) == hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
