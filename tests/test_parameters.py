import ast
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cropkit.errors import ConfigError, CropkitError
from cropkit.notebooks import notebook_paths, parameter_names
from cropkit.parameters import COMMON, NOTEBOOK_RULES, check

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
        ("04_model_training", "patch_size", 0, "patch_size must be a whole number >= 16"),
        ("04_model_training", "patch_size", 40, "a multiple of 16"),
        ("04_model_training", "patch_size", 1024, "at most the area's side of 256 px"),
        ("04_model_training", "folds", 1, "folds must be a whole number from 0 to 20 other than 1"),
        ("04_model_training", "test_zones", ["z9"], r"test_zones must name some but not all"),
        ("04_model_training", "test_zones", ["z1", "z2"], r"of this area's zones \['z1', 'z2'\]"),
        ("04_model_training", "inputs", ["s1"], "inputs must include 's2'"),
        ("04_model_training", "val_fraction", 1.0, r"val_fraction must be a share in \[0, 1\)"),
        ("04_model_training", "train_minutes", 0, r"train_minutes must be a number > 0"),
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
        check(notebook, {**defaults(notebook), name: value})


def test_a_missing_parameter_is_named():
    namespace = defaults("04_model_training")
    del namespace["epochs"]
    with pytest.raises(ConfigError, match=r"\['epochs'\] of 04_model_training are not set"):
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
cases = st.sampled_from([(nb, name) for nb in NOTEBOOKS for name in (*COMMON, *NOTEBOOK_RULES[nb])])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, value=wrong)
def test_any_wrong_value_is_a_cropkit_error_never_another(case, value):
    notebook, name = case
    namespace = {**defaults(notebook), name: value}
    try:
        check(notebook, namespace)
    except CropkitError:
        return
    # accepted: then it was a value the notebook can run with (same type as the default)
    default = defaults(notebook)[name]
    if isinstance(default, bool):
        assert isinstance(value, bool)
    elif isinstance(default, (int, float)):
        assert isinstance(value, (int, float)) and not isinstance(value, bool)
        assert math.isfinite(value)
    elif isinstance(default, list):
        assert isinstance(value, (list, tuple)) or isinstance(value, str)
