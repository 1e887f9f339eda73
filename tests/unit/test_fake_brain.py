import pytest

from labrun.shared.core.fake_model import NO_CANDIDATES_ANSWER, answer, count_tokens

pytestmark = pytest.mark.unit

CANDIDATES = [
    "Beauty & Hygiene > Hair Care > Hair Oil & Serum",
    "Beauty & Hygiene > Hair Care > Shampoo & Conditioner",
    "Beauty & Hygiene > Oral Care > Toothpaste",
    "Foodgrains, Oil & Masala > Salt, Sugar & Jaggery > Salt",
    "Bakery, Cakes & Dairy > Dairy > Butter & Cream",
    "Beverages > Tea > Green Tea",
    "Cleaning & Household > Detergents & Dishwash > Dishwash Bars & Powders",
]
SYSTEM = "Classify the product into exactly one of these categories:\n" + "\n".join(
    f"- {c}" for c in CANDIDATES
)


def product(title: str, description: str = "", brand: str = "") -> str:
    return f"Title: {title}\nDescription: {description}\nBrand: {brand}\nAnswer with the category path."


@pytest.mark.parametrize(
    ("title", "description", "brand", "expected"),
    [
        ("Dove Intense Repair Shampoo", "Nourishing shampoo for damaged, frizzy hair", "Dove", 1),
        ("Colgate Strong Teeth Toothpaste", "Calcium toothpaste for cavity protection", "Colgate", 2),
        ("Tata Salt Iodised", "Vacuum evaporated iodised salt", "Tata", 3),
        ("Amul Pasteurised Butter", "Made from fresh cream", "Amul", 4),
        ("Tetley Green Tea - Lemon & Honey", "Refreshing green tea bags", "Tetley", 5),
        ("Vim Dishwash Bar", "Removes tough grease from utensils", "Vim", 6),
        ("Bajaj Almond Drops Hair Oil", "Non-sticky hair oil with vitamin E", "Bajaj", 0),
    ],
)
def test_picks_the_obvious_category(title, description, brand, expected):
    assert answer(SYSTEM, product(title, description, brand)) == CANDIDATES[expected]


def test_candidates_in_the_user_prompt_and_exact_text_returned():
    user = (
        product("Lipton Green Tea", "tea bags")
        + "\nCandidates:\n-   Beverages > Tea > Green Tea  \n- Snacks > Chips"
    )
    assert answer("You classify products.", user) == "Beverages > Tea > Green Tea"


def test_deterministic():
    user = product("Head & Shoulders Anti Dandruff Shampoo", "Shampoo for dandruff-free hair")
    first = answer(SYSTEM, user)
    assert all(answer(SYSTEM, user) == first for _ in range(5))
    assert first == CANDIDATES[1]


def test_tie_break_is_stable_but_not_always_the_first():
    system = "- Shelf A > Gadget\n- Shelf B > Gadget"
    picks = [answer(system, product(f"Gadget variant{i}")) for i in range(40)]
    assert set(picks) == {"Shelf A > Gadget", "Shelf B > Gadget"}
    assert picks == [answer(system, product(f"Gadget variant{i}")) for i in range(40)]


def test_no_candidates():
    assert answer("You are a helpful assistant.", "Title: Something") == NO_CANDIDATES_ANSWER
    assert answer("", "") == NO_CANDIDATES_ANSWER


def test_leaf_words_weigh_more_than_top_level_words():
    system = "- Fruits & Vegetables > Fresh Fruits > Apples\n- Apple Store > Accessories > Chargers"
    assert answer(system, product("Fast Charger for phones")) == "Apple Store > Accessories > Chargers"
    assert answer(system, product("Shimla apples, 1 kg")) == "Fruits & Vegetables > Fresh Fruits > Apples"


def test_count_tokens():
    assert count_tokens("") == 1
    assert count_tokens("abcd") == 1
    assert count_tokens("abcde") == 2
    assert count_tokens("x" * 400) == 100
