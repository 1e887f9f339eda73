"""Classify, pure: label sets, answer matching, prepare's validation (errors name the row, column,
option or template), the request it builds and the verdict it gives."""

from __future__ import annotations

import pytest

from labrun.shared.core.calls import ChatResponse
from labrun.shared.core.errors import InputError
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.usecases import registry
from labrun.shared.usecases.base import CallParams, Options
from labrun.shared.usecases.classify.answers import match_label
from labrun.shared.usecases.classify.options import ClassifyOptions, split_labels

pytestmark = pytest.mark.unit
LABELS = ["Footwear", "Home Decor & Festive Needs", "Home Furnishing", "Watches"]
ROWS = [
    {"id": "a", "title": "AW Bellies", "brand": "AW", "label": "footwear"},
    {"id": "b", "title": "Titan analog watch", "brand": "Titan", "label": "Watches"},
    {"id": "c", "title": "Cushion cover set", "brand": "", "label": ""},
]


def prepare(rows=ROWS, **options):
    uc = registry.get("classify")
    return uc.prepare(rows, rows, Options({"labels": LABELS, **options}))


def test_label_sets_from_text_lists_and_commas():
    assert split_labels("# shop\nFootwear\n\nWatches\n") == ["Footwear", "Watches"]
    assert split_labels("Footwear, Watches ,Clothing") == ["Footwear", "Watches", "Clothing"]
    assert ClassifyOptions(labels="A\nB").labels == ["A", "B"]
    with pytest.raises(ValueError, match="duplicate label"):
        ClassifyOptions(labels=["A", "a"])
    with pytest.raises(ValueError, match="empty"):
        ClassifyOptions(labels="")


@pytest.mark.parametrize(
    ("answer", "label", "method"),
    [
        ("Watches", "Watches", "exact"),
        ("  **watches.**", "Watches", "normalized"),
        ("Label: home decor & festive needs", "Home Decor & Festive Needs", "normalized"),
        ("I think this is Home Furnishing, clearly.", "Home Furnishing", "contains"),
        ("Footwear or Watches", None, None),  # two labels: never a guess
        ("Gadgets", None, None),
        ("", None, None),
    ],
)
def test_answers_map_to_one_label_or_none(answer, label, method):
    assert match_label(answer, LABELS) == (label, method)


def test_prepare_snapshots_labels_columns_and_templates():
    prepared = prepare()
    assert prepared.snapshot["labels"] == LABELS
    assert prepared.snapshot["columns"] == {"id": "id", "label": "label", "text": ["title", "brand"]}
    assert (
        "{title}" in prepared.snapshot["prompt"]["user"] and "{labels}" in prepared.snapshot["prompt"]["user"]
    )
    dps = prepared.datapoints
    assert [(d.external_id, d.expected) for d in dps] == [("a", "Footwear"), ("b", "Watches"), ("c", None)]
    assert dps[0].inputs == {"title": "AW Bellies", "brand": "AW"}


def test_labels_default_to_the_rows_own():
    uc = registry.get("classify")
    prepared = uc.prepare(ROWS[1:2], ROWS[1:2], Options({}))
    assert prepared.snapshot["labels"] == ["Watches"] and prepared.snapshot["labels_source"] == "rows"


@pytest.mark.parametrize(
    ("rows", "options", "loc", "message"),
    [
        ([{"id": "1", "title": "x", "label": "Shoes"}], {}, ("rows", 1, "label"), "not one of the labels"),
        ([{"id": "1", "title": "x"}, {"id": "1", "title": "y"}], {}, ("rows", 2, "id"), "duplicate id"),
        ([{"id": "1", "title": "x"}], {"text_columns": "title,body"}, ("rows", 1, "body"), "missing column"),
        (ROWS, {"labels": ["A", "A"]}, ("options", "labels"), "duplicate label"),
        (ROWS, {"bogus": 1}, ("options", "bogus"), "Extra inputs"),
        ([{"id": "1", "title": "x"}], {"labels": None}, ("options", "labels"), "give the label set"),
    ],
)
def test_bad_input_names_the_row_column_or_option(rows, options, loc, message):
    with pytest.raises(InputError) as exc:
        prepare(rows, **options)
    assert exc.value.loc == loc and message in exc.value.message


def test_a_template_may_use_only_the_rows_columns():
    uc = registry.get("classify")
    with pytest.raises(InputError) as exc:
        uc.prepare(ROWS, ROWS, Options({"labels": LABELS}, user="{title} {price}\n{labels}"))
    assert exc.value.loc == ("prompt", "user") and "{price}" in exc.value.message


def test_request_lists_the_labels_and_judge_scores_the_answer():
    uc = registry.get("classify")
    prepared = prepare()
    run = uc.load({"prompt": prepared.snapshot["prompt"], "labels": LABELS})
    dp = prepared.datapoints[0]
    plan = run.request(dp, CallParams(model="m", max_tokens=20))
    assert plan.request.max_tokens == 20 and "Title: AW Bellies" in plan.request.user
    assert "- Home Decor & Festive Needs" in plan.request.user
    ok = ChatResponse("Footwear", "stop", 10, 2, "m", "r", 200, b"{}")
    verdict = run.judge(dp, plan, ok)
    assert (verdict.status, verdict.parsed, verdict.correct) == (PredictionStatus.SUCCEEDED, "Footwear", True)
    wrong = run.judge(dp, plan, ChatResponse("Watches", "stop", 10, 2, "m", "r", 200, b"{}"))
    assert wrong.correct is False
    bad = run.judge(dp, plan, ChatResponse("no idea", "stop", 10, 2, "m", "r", 200, b"{}"))
    assert (bad.status, bad.error_type) == (PredictionStatus.FAILED, "parse_error")
    unscored = run.judge(prepared.datapoints[2], plan, ok)
    assert unscored.correct is None and unscored.status == PredictionStatus.SUCCEEDED
