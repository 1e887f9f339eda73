from __future__ import annotations

import pytest

from labrun.shared.usecases.assign_cat.prompt import (
    DEFAULT_SYSTEM,
    DEFAULT_USER,
    MAX_DESCRIPTION_CHARS,
    VARIABLES,
    PromptError,
    PromptTemplate,
    RenderedPrompt,
    placeholders,
    render,
    truncate,
    validate_template,
)
from labrun.shared.usecases.assign_cat.schemas import ProductRow

pytestmark = pytest.mark.unit

ROW = ProductRow(id="sku-1", title="Mint Toothpaste", brand="Colgate", description="Fresh breath.")
CANDIDATES = ["Beauty & Hygiene > Oral Care > Toothpaste", "Beauty & Hygiene > Oral Care > Mouthwash"]


def test_variables():
    assert VARIABLES == {"title", "description", "brand", "categories", "id"}


def test_defaults_are_valid_and_ask_for_one_path_from_the_list():
    PromptTemplate().validate()
    validate_template(DEFAULT_SYSTEM, "system")
    validate_template(DEFAULT_USER, "user")
    assert "exactly one category path" in DEFAULT_SYSTEM
    assert "from the list" in DEFAULT_SYSTEM
    assert "nothing else" in DEFAULT_SYSTEM
    assert placeholders(DEFAULT_USER) == {"title", "brand", "description", "categories"}


def test_render_default_template():
    out = render(PromptTemplate(), ROW, CANDIDATES)
    assert isinstance(out, RenderedPrompt)
    assert out.system == DEFAULT_SYSTEM
    lines = out.user.splitlines()
    assert "Title: Mint Toothpaste" in lines
    assert "Brand: Colgate" in lines
    assert "Description: Fresh breath." in lines
    heading = next(i for i, line in enumerate(lines) if line.startswith("Categories"))
    assert lines[heading + 1 : heading + 3] == [f"- {p}" for p in CANDIDATES]
    assert out.as_dict() == {"system": out.system, "user": out.user}


def test_render_custom_template_with_all_variables_and_literal_braces():
    template = PromptTemplate(
        system="Pick one of:\n{categories}",
        user='{{"id": "{id}"}} {title} by {brand}: {description}',
    )
    out = render(template, ROW, CANDIDATES)
    assert out.system == "Pick one of:\n" + "\n".join(f"- {p}" for p in CANDIDATES)
    assert out.user == '{"id": "sku-1"} Mint Toothpaste by Colgate: Fresh breath.'


def test_render_accepts_mappings_and_missing_values():
    out = render(
        PromptTemplate(user="[{id}][{title}][{brand}][{description}]\n{categories}"), {"title": "X"}, []
    )
    assert out.user == "[][X][][]\n"


def test_values_are_inserted_verbatim_never_expanded():
    evil = ProductRow(
        title="{description} {title.__class__} {{x}} }",
        brand="{categories}",
        description="{0.__globals__} {id} {",
    )
    out = render(PromptTemplate(), evil, ["A > B"])
    assert "Title: {description} {title.__class__} {{x}} }" in out.user
    assert "Brand: {categories}" in out.user
    assert "Description: {0.__globals__} {id} {" in out.user
    assert out.user.count("- A > B") == 1
    assert "class" not in out.user.replace("{title.__class__}", "")


@pytest.mark.parametrize(
    "text",
    ["{title.__class__}", "{title[0]}", "{0}", "{}", "{ title }", "{title!r}", "{title:>10}", "{__import__}"],
)
def test_attribute_index_and_format_syntax_is_rejected(text):
    with pytest.raises(PromptError, match=r"^prompt\.user: unknown variable"):
        validate_template(f"Hello {text}", "prompt.user")
    with pytest.raises(PromptError):  # checked once, when the run is created (never per datapoint)
        PromptTemplate(user=f"{{categories}} {text}").validate()


def test_unknown_variables_are_all_named():
    with pytest.raises(PromptError) as exc:
        validate_template("{title} {sku} {price} {sku}", "system")
    message = str(exc.value)
    assert message.startswith("system: unknown variable(s) {sku}, {price};")
    assert "allowed: brand, categories, description, id, title" in message


@pytest.mark.parametrize(
    ("text", "brace", "pos"), [("ab { cd", "{", 3), ("ab } cd", "}", 3), ("{title}}", "}", 7)]
)
def test_unbalanced_braces_name_the_position(text, brace, pos):
    with pytest.raises(PromptError, match=rf"^user: unbalanced '\{brace}' at position {pos}"):
        validate_template(text, "user")


def test_template_needs_categories_somewhere():
    with pytest.raises(PromptError, match="categories"):
        PromptTemplate(system="sys", user="{title}").validate()
    PromptTemplate(system="{categories}", user="{title}").validate()
    # render itself only checks syntax, so a template without the list still renders
    assert render(PromptTemplate(system="s", user="{title}"), ROW, CANDIDATES).user == "Mint Toothpaste"


def test_from_spec_uses_defaults_for_unset_parts():
    assert PromptTemplate.from_spec() == PromptTemplate(DEFAULT_SYSTEM, DEFAULT_USER)
    custom = PromptTemplate.from_spec(user="{title}\n{categories}")
    assert custom.system == DEFAULT_SYSTEM
    assert custom.user == "{title}\n{categories}"
    with pytest.raises(PromptError, match="^system:"):
        PromptTemplate.from_spec(system="{oops}")


def test_long_description_is_truncated_with_an_ellipsis():
    row = ProductRow(title="t", description="word " * 1000)
    user = render(PromptTemplate(user="{description}|{categories}"), row, []).user
    description = user.split("|")[0]
    assert len(description) <= MAX_DESCRIPTION_CHARS == 2000
    assert description.endswith("…")
    short = render(PromptTemplate(user="{description}|{categories}"), row, [], max_description_chars=12).user
    assert short == "word word…|"


def test_truncate():
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"
    assert truncate("abcdefghijk", 5) == "abcd…"
    assert len(truncate("x" * 50, 20)) == 20
