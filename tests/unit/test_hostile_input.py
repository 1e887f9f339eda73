"""Any bytes in a catalog, taxonomy, label list or template give either a correct parse or a clear
error naming the row, field or option, never another exception; and the three inputs that once
gave a wrong-looking result are refused or explained."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labrun.shared.core.errors import InputError
from labrun.shared.usecases import registry
from labrun.shared.usecases.base import Options
from labrun.shared.usecases.errors import CatalogError

pytestmark = pytest.mark.unit
HEADER = b"id,title,description,brand,category\n"
# derandomized: CI runs the same (many) examples every time; a failure is a real bug, never noise
FAST = settings(
    max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
csv_like = st.lists(
    st.sampled_from(
        [b",", b'"', b"\n", b"\r\n", b"a", b"A > B", b"\xff", b"\x00", b";", b"\t", b" ", b"1", b"{"]
    ),
    max_size=60,
).map(b"".join)


@pytest.mark.parametrize("use_case", ["assign-cat", "classify"])
@pytest.mark.parametrize("fmt", [None, "csv", "jsonl", "json"])
@FAST
@given(body=st.one_of(st.binary(max_size=300), csv_like.map(lambda b: HEADER + b)))
def test_any_bytes_as_a_data_file_parse_or_name_the_problem(use_case, fmt, body):
    try:
        rows = registry.get(use_case).read_file(body, fmt, "data.csv")
    except CatalogError as exc:
        assert str(exc).strip()
        return
    assert isinstance(rows, list)


ROWS = [{"id": "1", "title": "Garlic oil", "description": "", "brand": "", "category": "Food > Oil"}]


@FAST
@given(text=st.text(max_size=300))
def test_any_text_as_a_taxonomy_is_a_taxonomy_or_an_error_naming_the_option(text):
    uc = registry.get("assign-cat")
    rows = uc.read_file(HEADER + b"1,Garlic oil,,,Food > Oil\n", "csv", "c.csv")
    try:
        prepared = uc.prepare(rows, rows, Options({"taxonomy": text}))
    except InputError as exc:
        assert "taxonomy" in ".".join(map(str, exc.loc))
        return
    assert prepared.snapshot["taxonomy"]["paths"]


@FAST
@given(labels=st.text(max_size=200), template=st.text(max_size=120))
def test_any_label_list_or_template_is_accepted_or_refused_by_name(labels, template):
    uc = registry.get("classify")
    rows = uc.read_file(b"id,text,label\n1,hello,a\n", "csv", "c.csv")
    try:
        uc.prepare(rows, rows, Options(uc.form_options({"labels": labels}), None, template or None))
    except InputError as exc:
        assert exc.loc and str(exc)


def test_an_unbalanced_quote_is_an_error_not_rows_merged_into_one():
    data = HEADER + b'1,ok,d,b,A > B\n2,"Broken title,desc,b,A > B\n3,ok,d,b,A > C\n'
    with pytest.raises(CatalogError, match=r"row 2: .*quoted value opened in this row is never closed"):
        registry.get("assign-cat").read_file(data, None, "c.csv")


@pytest.mark.parametrize("text", ['{"Food": ["Oil"]}', '["Food > Oil"]', "Food > Oil\x00"])
def test_json_or_binary_is_not_taken_as_a_one_line_taxonomy(text):
    uc = registry.get("assign-cat")
    rows = uc.read_file(HEADER + b"1,Garlic oil,,,Food > Oil\n", "csv", "c.csv")
    with pytest.raises(InputError, match="JSON|not a text file"):
        uc.prepare(rows, rows, Options({"taxonomy": text}))


def test_labels_outside_the_taxonomy_are_explained():
    uc = registry.get("assign-cat")
    rows = uc.read_file(HEADER + b"1,Garlic oil,,,Food > Oil\n2,Soap,,,Home > Soap\n", "csv", "c.csv")
    prepared = uc.prepare(rows, rows, Options({"taxonomy": "Food > Oil\nFood > Salt\n"}))
    (warning,) = uc.warnings(prepared.snapshot)
    assert (
        warning.startswith("1 expected categories (1 rows) are not in the taxonomy")
        and "'Home > Soap'" in warning
    )
