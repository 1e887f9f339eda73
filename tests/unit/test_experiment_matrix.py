"""Sweeps: the cartesian product in a fixed order, each cell a full spec with a short label;
template files in a matrix are read and labelled by name."""

from __future__ import annotations

import pytest
import yaml

from labrun.shared.experiments.load import load_text
from labrun.shared.experiments.matrix import MAX_CELLS, expand
from labrun.shared.experiments.spec import ExperimentError, parse_spec

pytestmark = pytest.mark.unit
BASE = {
    "name": "sweep",
    "use_case": "classify",
    "model": "fake",
    "dataset": {"path": "rows.csv"},
    "options": {"labels": ["a", "b"]},
}


def spec(matrix):
    return parse_spec({**BASE, "matrix": matrix})


def test_cartesian_product_in_written_order_with_labels():
    cells = expand(spec({"model": ["a", "b"], "params.temperature": [0, 0.7]}))
    assert [c.label for c in cells] == [
        "model=a,temperature=0",
        "model=a,temperature=0.7",
        "model=b,temperature=0",
        "model=b,temperature=0.7",
    ]
    last = cells[-1]
    assert (last.spec.model, last.spec.params.temperature, last.spec.matrix) == ("b", 0.7, None)
    assert last.values == {"model": "b", "params.temperature": 0.7}
    assert last.spec.options == {"labels": ["a", "b"]} and last.spec.dataset.format == "csv"


def test_options_and_prompts_sweep_long_values_by_position():
    cells = expand(spec({"options.label_column": ["label", "kind"], "prompt.system": ["Be brief.", "x"]}))
    assert [c.label for c in cells] == [
        "label_column=label,system=#1",
        "label_column=label,system=x",
        "label_column=kind,system=#1",
        "label_column=kind,system=x",
    ]
    assert cells[0].spec.prompt.system == "Be brief." and cells[2].spec.options["label_column"] == "kind"


def test_no_matrix_is_one_cell():
    (cell,) = expand(parse_spec(BASE))
    assert cell.label == "model=fake" and cell.values == {}


def test_matrix_template_files_are_read_and_labelled_by_name(tmp_path):
    d = tmp_path / "sweep"
    (d / "prompts").mkdir(parents=True)
    (d / "prompts/short.txt").write_text("Answer with a label.")
    (d / "prompts/long.txt").write_text("Think, then answer with one label.")
    text = yaml.safe_dump(
        {**BASE, "matrix": {"prompt.system": [{"file": "prompts/short.txt"}, {"file": "prompts/long.txt"}]}}
    )
    exp = load_text(text, file="sweep/experiment.yaml", directory=d)
    cells = exp.cells()
    assert [c.label for c in cells] == ["system=short.txt", "system=long.txt"]
    assert cells[1].spec.prompt.system == "Think, then answer with one label."
    assert cells[1].files == {"prompt.system": "prompts/long.txt"}


def test_missing_matrix_template_file_names_the_value(tmp_path):
    text = yaml.safe_dump({**BASE, "matrix": {"prompt.user": ["{title}", {"file": "nope.txt"}]}})
    with pytest.raises(ExperimentError) as exc:
        load_text(text, file="sweep/experiment.yaml", directory=tmp_path / "sweep")
    assert str(exc.value) == (
        "sweep/experiment.yaml: matrix.prompt.user[1]: template file 'nope.txt' not found (next to experiment.yaml)"
    )


@pytest.mark.parametrize(
    "matrix, expected",
    [
        ({"params.temp": [0]}, "matrix.params.temp: unknown matrix key; keys: model, params.temperature"),
        ({"seed": [1]}, "matrix.seed: unknown matrix key; did you mean 'params.seed'?"),
        (
            {"options.labels": [["a"], "b, c"], "dataset.path": ["x.csv"]},
            "matrix.dataset.path: unknown matrix key",
        ),
        ({"model": []}, "matrix.model: empty list: give at least one value to sweep"),
        ({"model": "fake"}, "matrix.model: must be a valid list (got 'fake')"),
        ({"model": ["a", "a"]}, "matrix.model: lists a value twice"),
        (
            {"params.temperature": [0, 9]},
            "matrix.params.temperature[1]: must be less than or equal to 2 (got 9)",
        ),
        ({}, "matrix: is empty"),
        ({"params.seed": list(range(17)), "model": [str(i) for i in range(16)]}, f"at most {MAX_CELLS}"),
    ],
)
def test_bad_matrices(matrix, expected):
    with pytest.raises(ExperimentError) as exc:
        expand(spec(matrix))
    assert expected in str(exc.value)
