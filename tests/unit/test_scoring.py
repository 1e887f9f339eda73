from __future__ import annotations

import pytest

from labrun.shared.usecases.assign_cat.scoring import correct_at_level, correct_by_level, is_correct, levels

pytestmark = pytest.mark.unit

EXPECTED = "Beauty & Hygiene > Oral Care > Toothpaste"


def test_levels():
    assert levels(" Beauty &  Hygiene>Oral Care ") == ["beauty & hygiene", "oral care"]
    assert levels(None) is None
    assert levels("  ") is None
    assert levels("A >> B") == ["a", "", "b"]


@pytest.mark.parametrize(
    ("predicted", "expected"),
    [
        (EXPECTED, True),
        ("Beauty & Hygiene>Oral Care>  Toothpaste", True),
        ("beauty & hygiene > oral care > toothpaste", True),
        ("Beauty & Hygiene > Oral Care > Mouthwash", False),
        ("Beauty & Hygiene > Oral Care", False),
        (EXPECTED + " > Kids", False),
        ("", False),
        (None, False),
        ("Beauty & Hygiene > > Oral Care > Toothpaste", False),
    ],
)
def test_is_correct(predicted, expected):
    assert is_correct(predicted, EXPECTED) is expected


def test_is_correct_without_expected_label():
    assert is_correct(EXPECTED, None) is None
    assert is_correct(EXPECTED, "") is None
    assert is_correct(None, None) is None


@pytest.mark.parametrize(
    ("predicted", "by_level"),
    [
        (EXPECTED, (True, True, True)),
        ("Beauty & Hygiene > Oral Care > Mouthwash", (True, True, False)),
        ("Beauty & Hygiene > Skin Care > Toothpaste", (True, False, False)),
        ("Foodgrains > Oral Care > Toothpaste", (False, False, False)),
        ("Beauty & Hygiene", (True, False, False)),
        (None, (False, False, False)),
    ],
)
def test_correct_at_level(predicted, by_level):
    assert tuple(correct_at_level(predicted, EXPECTED, level) for level in (1, 2, 3)) == by_level
    assert correct_by_level(predicted, EXPECTED) == dict(enumerate(by_level, 1))


def test_correct_at_level_beyond_the_expected_depth_is_none():
    assert correct_at_level("A > B > C > D", "A > B", 3) is None
    assert correct_at_level("A > B", "A > B", 2) is True
    assert correct_at_level("A > B", None, 1) is None
    assert correct_by_level("A", None) == {}


def test_level_must_be_positive():
    with pytest.raises(ValueError, match="level must be >= 1"):
        correct_at_level("A", "A", 0)
