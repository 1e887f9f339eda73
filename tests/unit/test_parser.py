from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from labrun.shared.usecases.assign_cat import parser
from labrun.shared.usecases.assign_cat.parser import ParseResult, parse_answer
from labrun.shared.usecases.assign_cat.taxonomy import Taxonomy

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).parents[2] / "examples"
BIRD = "Animals & Pet Supplies > Pet Supplies > Bird Supplies"
TOOTHPASTE = "Beauty & Hygiene > Oral Care > Toothpaste"
SOAPS_BATH = "Beauty & Hygiene > Bath & Hand Wash > Bathing Bars & Soaps"
SOAPS_HEALTH = "Beauty & Hygiene > Health & Medicine > Bathing Bars & Soaps"


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return Taxonomy.load(EXAMPLES / "google-product-taxonomy.txt")


@pytest.fixture(scope="module")
def bigbasket() -> Taxonomy:
    return Taxonomy.load(EXAMPLES / "bigbasket-taxonomy.txt")


@pytest.mark.parametrize(
    "answer",
    [
        BIRD,
        f"  {BIRD}  \n",
        f"{BIRD}.",
        f'"{BIRD}"',
        f"`{BIRD}`",
        f"**{BIRD}**",
        f"- {BIRD}",
        f"1. {BIRD}",
        f"Category: {BIRD}",
        f"Answer: '{BIRD}'",
        f"The category is: {BIRD}",
        f"```\n{BIRD}\n```",
        f'{{"category": "{BIRD}"}}',
        f'```json\n{{"Category": "{BIRD}", "confidence": 0.9}}\n```',
        f'["{BIRD}"]',
        f"{BIRD}\nThis product is bird seed, so it belongs to bird supplies.",
        f"Category:\n{BIRD}",
        f"Let me think. Birds need food.\n{BIRD}",
    ],
)
def test_exact_after_cleaning(google, answer):
    assert parse_answer(answer, google) == ParseResult(BIRD, "exact")


@pytest.mark.parametrize(
    "answer",
    [
        "animals & pet supplies > pet supplies > bird supplies",
        "ANIMALS & PET SUPPLIES>PET SUPPLIES>BIRD SUPPLIES",
        "Animals  &  Pet Supplies >   Pet Supplies > Bird Supplies",
        "Animals & Pet Supplies / Pet Supplies / Bird Supplies",
        "Animals & Pet Supplies » Pet Supplies » Bird Supplies",
        "Animals & Pet Supplies -> Pet Supplies -> Bird Supplies",
        "Animals and Pet Supplies > Pet Supplies > Bird Supplies",
        "Category: animals & pet supplies/pet supplies/bird supplies.",
    ],
)
def test_casefold_and_separators(google, answer):
    assert parse_answer(answer, google) == ParseResult(BIRD, "casefold")


def test_slash_inside_a_category_name_still_matches(google):
    path = "Electronics > Electronics Accessories > Computer Components > I/O Cards & Adapters"
    assert parse_answer(path, google) == ParseResult(path, "exact")
    assert parse_answer(path.lower(), google) == ParseResult(path, "casefold")


@pytest.mark.parametrize("answer", ["Bird Supplies", "bird supplies", "Pet Supplies > Bird Supplies"])
def test_unique_leaf_or_tail(google, answer):
    assert parse_answer(answer, google) == ParseResult(BIRD, "leaf")


def test_ambiguous_leaf_is_resolved_by_the_candidates(bigbasket):
    assert parse_answer("Bathing Bars & Soaps", bigbasket, [SOAPS_HEALTH, TOOTHPASTE]) == ParseResult(
        SOAPS_HEALTH, "leaf"
    )
    assert parse_answer("Bathing Bars & Soaps", bigbasket, [SOAPS_BATH]) == ParseResult(SOAPS_BATH, "leaf")
    # without candidates the leaf is ambiguous: some soap path, but not by the "leaf" strategy
    result = parse_answer("Bathing Bars & Soaps", bigbasket)
    assert result.method == "closest"
    assert result.path in (SOAPS_BATH, SOAPS_HEALTH)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Animals & Pet Supply > Pet Supply > Bird Suplies", BIRD),
        ("Animal & Pets > Pet Supplies > Bird Supplies", BIRD),
        ("Bird Supply", BIRD),
        (
            "banana",
            "Food, Beverages & Tobacco > Food Items > Fruits & Vegetables > Fresh & Frozen Fruits > Bananas",
        ),
    ],
)
def test_closest(google, answer, expected):
    assert parse_answer(answer, google) == ParseResult(expected, "closest")


def test_closest_on_bigbasket(bigbasket):
    assert parse_answer("Oral Care > Tooth paste", bigbasket) == ParseResult(TOOTHPASTE, "closest")
    assert parse_answer("Beauty and Hygeine > Oral-Care > Toothpastes", bigbasket) == ParseResult(
        TOOTHPASTE, "closest"
    )


def test_closest_prefers_candidates():
    sets, blocks = "Home > Kitchen > Knife Sets", "Home > Kitchen > Knife Blocks"
    tax = Taxonomy.from_paths([sets, blocks, "Home > Kitchen > Cutlery"])
    answer = "Home > Kitchen > Knife Sets & Blocks"
    assert parse_answer(answer, tax) == ParseResult(blocks, "closest")
    assert parse_answer(answer, tax, [sets]) == ParseResult(sets, "closest")
    assert parse_answer(answer, tax, [blocks]) == ParseResult(blocks, "closest")
    # a much closer non-candidate still wins over a merely similar candidate
    assert parse_answer("Home > Kitchen > Knife Blockz", tax, [sets]) == ParseResult(blocks, "closest")


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   \n ",
        "Sorry, I cannot classify this product.",
        "I am unable to decide between several options here",
        "Masalas",
        '{"confidence": 0.3}',
        "```\n```",
    ],
)
def test_no_match(bigbasket, answer):
    assert parse_answer(answer, bigbasket) == ParseResult(None, None)


def test_none_text(bigbasket):
    assert parse_answer(None, bigbasket) == ParseResult(None, None)


def test_exact_answer_outside_the_candidates_is_still_accepted(bigbasket):
    assert parse_answer(TOOTHPASTE, bigbasket, [SOAPS_BATH]) == ParseResult(TOOTHPASTE, "exact")


def test_candidates_outside_the_taxonomy_are_ignored(bigbasket):
    result = parse_answer(
        "toothpaste",
        bigbasket,
        ["Not > A > Path", "Broken >> Path", " Beauty & Hygiene>Oral Care>Toothpaste"],
    )
    assert result == ParseResult(TOOTHPASTE, "leaf")


def test_index_is_cached_by_content(bigbasket):
    twin = Taxonomy.from_paths(bigbasket.paths, source="another name")
    assert parser._index(twin) is parser._index(bigbasket)


def test_results_are_paths_of_the_taxonomy(google):
    rng = random.Random(3)
    for path in rng.sample(google.paths, 100):
        mangled = path.upper().replace(" > ", " / ")[:-2] + "zz"
        result = parse_answer(mangled, google)
        assert result.path is None or result.path in google.paths


def test_speed_on_the_google_taxonomy(google):
    rng = random.Random(5)
    sample = rng.sample(google.paths, 200)
    parse_answer(sample[0], google)  # builds the index
    start = time.perf_counter()
    for path in sample:
        assert parse_answer(path, google, sample).path == path
        assert parse_answer(path.lower(), google).method == "casefold"
    cheap = (time.perf_counter() - start) / (2 * len(sample))
    start = time.perf_counter()
    typos = [parse_answer(path[:-3] + "xyz", google, sample) for path in sample[:50]]
    fuzzy = (time.perf_counter() - start) / 50
    assert sum(r.path == p for r, p in zip(typos, sample, strict=False)) >= 45
    assert cheap < 0.002  # measured ~0.02 ms
    assert fuzzy < 0.05  # measured ~3 ms
