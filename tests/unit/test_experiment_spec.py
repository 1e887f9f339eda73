"""Experiment specs: every validation error names the file and field (and says why), YAML syntax
errors name the line, template files are read next to the YAML, a good spec round-trips, and the
shipped example loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labrun.shared.core.errors import InputError
from labrun.shared.experiments.load import load, load_file
from labrun.shared.experiments.spec import ExperimentError, dump, name_problem, parse_spec

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
name: foo
description: a test
use_case: classify
model: fake
dataset: {location: git, path: datasets/rows.csv}
params: {temperature: 0.2, max_tokens: 32, seed: 7}
options:
  labels: {file: labels.txt}
  label_column: label
prompt:
  system: {file: system.txt}
tags: [a]
metadata: {owner: me}
status: ready
"""


def write(root: Path, text: str, name: str = "foo", **files: str) -> Path:
    d = root / ".experiments" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "experiment.yaml").write_text(text)
    for rel, content in files.items():
        (d / rel).write_text(content)
    return d / "experiment.yaml"


def error(root: Path, text: str, **files: str) -> str:
    path = write(root, text, **files)
    with pytest.raises(ExperimentError) as exc:
        load_file(path)
    assert isinstance(exc.value, InputError)  # the CLI's and API's handlers catch it
    return str(exc.value)


def good(**changes: str) -> str:
    data = yaml.safe_load(GOOD)
    for key, value in changes.items():
        data[key] = yaml.safe_load(value)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # messages show paths relative to the current directory
    return tmp_path


FILES = {"labels.txt": "Footwear\nWatches\n", "system.txt": "Classify {title}."}


def test_a_good_spec_loads_resolves_template_files_and_round_trips(at):
    write(at, GOOD, **FILES)
    exp = load(at, "foo")
    spec = exp.spec
    assert (spec.name, spec.use_case, spec.model, spec.status) == ("foo", "classify", "fake", "ready")
    assert spec.dataset.format == "csv"  # from the extension
    assert spec.options["labels"] == "Footwear\nWatches\n" and spec.prompt.system == "Classify {title}."
    assert exp.files == {"options.labels": "labels.txt", "prompt.system": "system.txt"}
    assert exp.dataset_location() == str(at / ".experiments/foo/datasets/rows.csv")
    assert parse_spec(yaml.safe_load(yaml.safe_dump(dump(spec)))) == spec
    (cell,) = exp.cells()
    assert cell.run_options()["_filenames"] == {"labels": "labels.txt"}


@pytest.mark.parametrize(
    "name, why",
    [
        ("Foo", "must be lowercase (got 'Foo'; try 'foo')"),
        ("1foo", "must start with a letter"),
        ("foo_bar", "may contain only lowercase letters, digits and hyphens (found '_'"),
        ("foo bar", "may contain only lowercase letters, digits and hyphens (found ' '"),
        ("f" * 61, "is 61 characters long; at most 60"),
        ("foo-", "must not end with a hyphen"),
        ("foo--bar", "contain '--'"),
        (
            "foo-v2",
            "must not carry a version ('v2'): versions are git tags experiments/<name>/vX.Y.Z, so name it 'foo'",
        ),
        ("foo-v1.2", "must not carry a version ('v1.2')"),
        ("foo-1.2.0", "must not carry a version ('1.2.0')"),
        (
            "foo-v3-mini",
            "must not carry a version ('v3'): versions are git tags experiments/<name>/vX.Y.Z, so name it 'foo-mini'",
        ),
        ("foo-2024-01", "must not carry a date ('2024-01')"),
        ("", "is empty"),
    ],
)
def test_bad_names_say_why(name, why):
    assert why in (name_problem(name) or "")


@pytest.mark.parametrize("name", ["foo", "toys-two-models", "gpt4o-vs-haiku", "census-2020", "a1-b2"])
def test_good_names(name):
    assert name_problem(name) is None


def test_bad_name_in_a_file_names_file_and_field(at):
    msg = error(at, good(name="foo-v2"), **FILES)
    assert msg.startswith(".experiments/foo/experiment.yaml: name: must not carry a version ('v2')")


def test_name_must_match_its_directory(at):
    msg = error(at, good(name="bar"), **FILES)
    assert (
        msg
        == ".experiments/foo/experiment.yaml: name: 'bar' differs from its directory 'foo': rename one of them"
    )


def test_unknown_use_case_lists_the_known_ones(at):
    msg = error(at, good(use_case="clasify"), **FILES)
    assert msg == (
        ".experiments/foo/experiment.yaml: use_case: unknown use case 'clasify'; known: assign-cat, classify"
    )


def test_unknown_option_names_the_option_and_the_known_ones(at):
    msg = error(at, good(options="{lables: [a, b]}"), **FILES)
    assert msg.startswith(
        ".experiments/foo/experiment.yaml: options.lables: unknown option of use case 'classify'"
    )
    assert "known: labels, label_column, id_column, text_columns" in msg


@pytest.mark.parametrize(
    "dataset, expected",
    [
        ("{location: ftp, path: a.csv}", "dataset.location: must be one of git, s3, path (got 'ftp')"),
        ("{path: a.xls, format: xls}", "dataset.format: must be one of csv, jsonl, parquet (got 'xls')"),
        (
            "{path: a.xlsx}",
            "dataset.format: cannot tell the format of 'a.xlsx' from its extension; set it to one of",
        ),
        ("{location: s3, path: bucket/a.csv}", "dataset.path: an s3 location needs an s3://bucket/key URI"),
        ("{location: git, path: s3://b/a.csv}", "dataset.path: an s3:// URI needs location: s3"),
        (
            "{location: git, path: /data/a.csv}",
            "dataset.path: a git location is relative to the experiment directory",
        ),
        ("{location: git}", "dataset.path: is required"),
        ("{path: a.csv, sheet: 1}", "dataset.sheet: unknown key; allowed: location, path, format"),
    ],
)
def test_bad_datasets(at, dataset, expected):
    msg = error(at, good(dataset=dataset), **FILES)
    assert msg.startswith(f".experiments/foo/experiment.yaml: {expected}"), msg


def test_format_is_inferred_or_given(at):
    write(at, good(dataset="{location: s3, path: 's3://b/k/rows.jsonl'}"), **FILES)
    assert load(at, "foo").spec.dataset.format == "jsonl"
    write(at, good(dataset="{location: path, path: /data/rows.txt, format: csv}"), **FILES)
    assert load(at, "foo").dataset_location() == "/data/rows.txt"


def test_params_unknown_keys_and_ranges(at):
    msg = error(at, good(params="{temperature: 3, top_p: 0.9}"), **FILES)
    assert msg.splitlines() == [
        ".experiments/foo/experiment.yaml: params.temperature: must be less than or equal to 2 (got 3)",
        ".experiments/foo/experiment.yaml: params.top_p: unknown key; allowed: temperature, max_tokens, seed",
    ]


def test_unknown_top_level_key_and_bad_status(at):
    msg = error(at, good(tag="x", status="done"), **FILES)
    assert "status: must be one of draft, ready, archived (got 'done')" in msg
    assert "tag: unknown key; allowed: name, description, use_case, model, dataset" in msg


def test_missing_template_file_names_the_file_and_the_option(at):
    msg = error(at, GOOD, **{"system.txt": "x"})
    assert msg == (
        ".experiments/foo/experiment.yaml: options.labels: "
        "template file 'labels.txt' not found (next to experiment.yaml)"
    )


def test_at_file_is_not_the_syntax(at):
    msg = error(at, good(options="{labels: '@labels.txt'}"), **FILES)
    assert "options.labels: to read a file write {file: labels.txt}" in msg


def test_bad_matrix_keys_and_values(at):
    msg = error(
        at,
        good(
            matrix="{temperature: [0, 1], options.colour: [a], model: [], params.seed: [1, 1], params.max_tokens: [0]}"
        ),
        **FILES,
    )
    lines = msg.splitlines()
    assert "matrix.temperature: unknown matrix key; did you mean 'params.temperature'?" in lines[0]
    assert "matrix.options.colour: unknown matrix key" in lines[1]
    assert lines[2].endswith("matrix.model: empty list: give at least one value to sweep")
    assert lines[3].endswith("matrix.params.seed: lists a value twice")
    assert lines[4].endswith("matrix.params.max_tokens[0]: must be greater than or equal to 1 (got 0)")


def test_empty_matrix_is_an_error(at):
    assert error(at, good(matrix="{}"), **FILES).endswith(
        "matrix: is empty: list the values to sweep, or remove it"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "name: foo\nmodel: [fake\n",
            "line 3: invalid YAML: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence started on line 2)",
        ),
        ("name: foo\n  model: fake\n", "line 2: invalid YAML: mapping values are not allowed here"),
        ("name: foo\nmodel: fake\nname: bar\n", "line 3: invalid YAML: key 'name' is given twice"),
        ("", "must be a mapping of fields such as name: and model: (got nothing)"),
        ("- a\n", "must be a mapping of fields such as name: and model: (got a list)"),
    ],
)
def test_yaml_syntax_errors_name_the_file_and_line(at, text, expected):
    assert error(at, text) == f".experiments/foo/experiment.yaml: {expected}"


def test_unknown_model_when_the_catalog_is_given(at):
    write(at, good(matrix="{model: [fake, gpt-4o]}"), **FILES)
    with pytest.raises(ExperimentError) as exc:
        load(at, "foo", models={"fake", "gpt4o_mini"})
    assert str(exc.value).endswith("matrix.model[1]: unknown model alias 'gpt-4o'; known: fake, gpt4o_mini")


def test_unknown_experiment_lists_the_known_ones(at):
    write(at, GOOD, **FILES)
    with pytest.raises(
        ExperimentError, match=r"no experiment 'bar' \(.experiments/bar/experiment.yaml\); known: foo"
    ):
        load(at, "bar")


def test_the_example_experiment_loads():
    exp = load_file(ROOT / "examples/.experiments/toys-two-models/experiment.yaml")
    assert exp.spec.use_case == "assign-cat" and exp.spec.dataset.format == "csv"
    assert [c.label for c in exp.cells()] == ["model=fake", "model=fake_small"]
    assert Path(exp.dataset_location()) == ROOT / "examples/amazon-toys-200.csv"
    assert exp.check_dataset() == []
