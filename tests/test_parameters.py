import ast
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cropkit.core.errors import ConfigError, CropkitError, DataError
from cropkit.core.run import RunFolder
from cropkit.face.notebooks import notebook_paths, parameter_names, resolve_notebooks
from cropkit.stages.parameters import (
    COMMON,
    GROUPS,
    NOTEBOOK_RULES,
    STUDIES,
    TRAINING,
    AttentionParameters,
    CompositeParameters,
    ConfusionParameters,
    MaskingParameters,
    TrainingParameters,
    check,
    settings_frame,
    with_defaults,
)

NOTEBOOKS = [p.stem for p in notebook_paths()]


def defaults(notebook: str) -> dict:
    """The literal values of a notebook's parameters cell."""
    path = next(p for p in notebook_paths() if p.stem == notebook)
    cell = next(
        c
        for c in json.loads(path.read_text())["cells"]
        if "parameters" in c["metadata"].get("tags", [])
    )
    tree = ast.parse("".join(cell["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}


def setting(notebook: str, name: str, value) -> dict:
    """The notebook's defaults with ``name`` set (``"training.epochs"``: one key of a group)."""
    group, _, key = name.rpartition(".")
    return {**defaults(notebook), **({group: {key: value}} if group else {name: value})}


def test_every_notebook_parameter_has_a_rule():
    assert sorted(NOTEBOOK_RULES) == NOTEBOOKS
    for notebook in NOTEBOOKS:
        assert sorted(parameter_names(notebook)) == sorted([*COMMON, *NOTEBOOK_RULES[notebook]])


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_notebook_defaults_pass(notebook):
    config = check(notebook, defaults(notebook))
    assert config.region == "chartres" and config.year == 2023


@pytest.mark.parametrize(
    "notebook, name, value, message",
    [
        (
            "04_model_training",
            "models",
            ["xgboost", "nope"],
            r"models must be a list of model names among .* \('nope' unknown\)",
        ),
        (
            "04_model_training",
            "training.patch_size",
            0,
            r"\['patch_size'\] must be a whole number >= 16",
        ),
        ("04_model_training", "training.patch_size", 40, "a multiple of 16"),
        ("04_model_training", "training.patch_size", 1024, "at most the area's side of 256 px"),
        (
            "04_model_training",
            "studies.folds",
            1,
            r"studies\['folds'\] must be a whole number from 0 to 20 other than 1",
        ),
        ("04_model_training", "test_zones", ["z9"], r"test_zones must name some but not all"),
        ("04_model_training", "test_zones", ["z1", "z2"], r"of this area's zones \['z1', 'z2'\]"),
        ("04_model_training", "inputs", ["s1"], "inputs must include 's2'"),
        ("04_model_training", "training.val_fraction", 1.0, r"a share in \[0, 1\)"),
        (
            "04_model_training",
            "training.train_minutes",
            0,
            r"\['train_minutes'\] must be a number > 0",
        ),
        ("02_cloud_masking", "keep_classes", [4, 12], "SCL classes"),
        ("02_cloud_masking", "example_date", "2023-13-01", "date YYYY-MM-DD"),
        ("03_composites", "period", "week", "period must be one of"),
        ("05_attention_visualization", "attribution_steps", 1, "attribution_steps"),
        ("06_confusion_analysis", "compare", "xgboost", "compare must be a list of model names"),
        ("01_stac_discovery", "zone_km", float("nan"), "zone_km must be a number"),
        ("01_stac_discovery", "seed", -1, "seed must be a whole number >= 0"),
    ],
)
def test_wrong_values_are_named_with_what_they_take(notebook, name, value, message):
    with pytest.raises(ConfigError, match=message):
        check(notebook, setting(notebook, name, value))


@pytest.mark.parametrize(
    "value, message",
    [
        ({"epoch": 3}, r"training has no setting 'epoch'; its settings are \['buffer_m', "),
        ([3], r"training must be a dict of the settings it changes, such as \{'buffer_m': 10.0\}"),
        ({"epochs": 2.5}, r"training\['epochs'\] must be a whole number from 1 to 10000, not 2.5"),
    ],
)
def test_a_grouped_parameter_names_the_setting_that_is_wrong(value, message):
    with pytest.raises(ConfigError, match=message):
        check("04_model_training", {**defaults("04_model_training"), "training": value})


def test_grouped_settings_change_only_the_keys_they_name():
    training = with_defaults(TRAINING, {"epochs": 3})
    assert training["epochs"] == 3 and training["train_minutes"] == 2.0
    assert list(training) == list(TRAINING)
    assert with_defaults(STUDIES, {}) == {key: s.default for key, s in STUDIES.items()}
    table = settings_frame({"training": training, "studies": {"folds": 4}})
    assert table.loc[("training", "epochs")].tolist()[:2] == ["3", "20"]
    assert table.loc[("studies", "folds"), "value"] == "4"
    assert table.loc[("studies", "cloud_study"), "value"] == "False"
    assert len(table) == len(TRAINING) + len(STUDIES)
    with pytest.raises(ConfigError, match=r"No grouped parameter \['train'\]; they are"):
        settings_frame({"train": {}})


def test_a_missing_parameter_is_named():
    namespace = defaults("04_model_training")
    del namespace["studies"]
    with pytest.raises(ConfigError, match=r"\['studies'\] of 04_model_training are not set"):
        check("04_model_training", namespace)


wrong = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-5, 20), st.text(max_size=6), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.tuples(st.floats(), st.floats()),
)
cases = st.sampled_from(
    [(nb, name) for nb in NOTEBOOKS for name in (*COMMON, *NOTEBOOK_RULES[nb])]
    + [("04_model_training", f"{group}.{key}") for group in GROUPS for key in GROUPS[group]]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, value=wrong)
def test_any_wrong_value_is_a_cropkit_error_never_another(case, value):
    notebook, name = case
    try:
        check(notebook, setting(notebook, name, value))
    except CropkitError:
        return
    # accepted: then it was a value the notebook can run with (same type as the default)
    group, _, key = name.rpartition(".")
    default = GROUPS[group][key].default if group else defaults(notebook)[name]
    if isinstance(default, bool):
        assert isinstance(value, bool)
    elif isinstance(default, (int, float)):
        assert isinstance(value, (int, float)) and not isinstance(value, bool)
        assert math.isfinite(value)
    elif isinstance(default, list):
        assert isinstance(value, (list, tuple)) or isinstance(value, str)
    elif isinstance(default, dict):
        assert isinstance(value, dict) and not value  # no key of these is a grouped setting


@pytest.mark.parametrize(
    "declared",
    [
        MaskingParameters,
        CompositeParameters,
        TrainingParameters,
        AttentionParameters,
        ConfusionParameters,
    ],
)
def test_each_notebook_declares_its_parameters_once(declared, tmp_path):
    """The notebook's cell, the check, the manifest record and the reader are one declaration."""
    (path,) = resolve_notebooks([declared.notebook])
    (cell,) = [
        c
        for c in json.loads(path.read_text())["cells"]
        if "parameters" in c["metadata"].get("tags", [])
    ]
    namespace: dict = {}
    exec("".join(cell["source"]), namespace)  # the literals of the parameters cell
    own = {k: v for k, v in namespace.items() if k not in COMMON and not k.startswith("__")}
    assert own == declared.defaults()
    assert NOTEBOOK_RULES[declared.notebook] == declared.rules()
    params = declared.of({**namespace})
    run = RunFolder(tmp_path / "run")
    with pytest.raises(DataError, match=f"Notebook {declared.notebook} has not run"):
        declared.recorded(run)  # a later notebook is told, not given a default
    run.record(declared.notebook, {**params.record(), "region": "chartres"})
    assert declared.recorded(run) == params
