"""Notebook 04's stage: the inputs a training run needs, and its products opened by 05-06."""

import json

import pandas as pd
import pytest

from cropkit.access.providers import SensorSkippedWarning
from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError, DataError
from cropkit.core.run import RunFolder
from cropkit.stages.confusion import check_pair
from cropkit.stages.outputs import save_summary
from cropkit.stages.training import (
    check_trained,
    load_predictions,
    load_trained,
    trained_models,
    training_inputs,
)


def test_training_inputs_follow_what_the_provider_offers():
    assert training_inputs(RunConfig(), ["s2"]) == (["s2"], ["enmap", "s1", "s2"])
    assert training_inputs(RunConfig(), ["s2", "s1"]) == (["s2", "s1"], ["enmap", "s1", "s2"])
    pc = RunConfig(stac="planetary-computer")
    assert training_inputs(pc, ["s2"]) == (["s2"], ["s1", "s2"])


def test_a_sensor_the_provider_lacks_is_left_out_with_a_note():
    es = RunConfig(stac="earth-search")
    with pytest.warns(
        SensorSkippedWarning,
        match=r"'earth-search' offers no EnMAP L2A: the "
        r"models train without it \(stac='demo' has it\)",
    ):
        assert training_inputs(es, ["s2", "enmap"]) == (["s2"], ["s2"])
    with pytest.warns(
        SensorSkippedWarning, match=r"no Sentinel-1 RTC.*'planetary-computer' or 'demo'"
    ):
        assert training_inputs(RunConfig(stac="demo:earth-search"), ["s2", "s1"]) == (
            ["s2"],
            ["s2"],
        )
    with pytest.raises(ConfigError, match=r"Unknown sensor 's3'"):
        training_inputs(es, ["s2", "s3"])


@pytest.fixture()
def run(tmp_path):
    run = RunFolder(tmp_path / "chartres-2023")
    for name in ("xgboost", "ltae"):
        folder = run.path / "models" / name
        folder.mkdir(parents=True)
        (folder / "model.json").write_text(json.dumps({"name": name}))
    run.record("04_model_training", {}, products={"model_xgboost": "m", "model_ltae": "m"})
    return run


def test_a_run_without_models_says_which_notebook_to_run(tmp_path):
    with pytest.raises(DataError, match="run notebook 04_model_training"):
        trained_models(RunFolder(tmp_path / "empty"))


def test_models_are_checked_against_the_run(run):
    assert trained_models(run) == ["xgboost", "ltae"]
    assert check_trained(run, "all") == ["xgboost", "ltae"]
    assert check_trained(run, "all", allowed=["ltae", "utae"]) == ["ltae"]
    with pytest.raises(ConfigError, match=r"has no trained 'utae'; it has \['xgboost', 'ltae'\]"):
        check_trained(run, ["utae"])
    with pytest.raises(ConfigError, match=r"the models that can are \['ltae', 'utae'\]"):
        check_trained(run, ["xgboost"], allowed=["ltae", "utae"])
    with pytest.raises(ConfigError, match="train one of"):
        check_trained(run, "all", allowed=["utae"])
    with pytest.raises(ConfigError, match="'all' or a list"):
        check_trained(run, 3)


def test_an_older_model_or_prediction_file_is_named(run):
    with pytest.raises(DataError, match="older cropkit"):
        load_trained(run, "ltae")  # a model.json without its settings
    pd.DataFrame({"row": [1], "col": [2]}).to_parquet(run.path / "predictions_ltae.parquet")
    with pytest.raises(DataError, match=r"older cropkit \(it lacks"):
        load_predictions(run, "ltae")
    with pytest.raises(DataError, match="run notebook 04"):
        load_predictions(run, "xgboost")


def test_pairs_of_models_to_compare():
    assert check_pair([], ["a", "b", "c"]) == ["a", "b"]
    assert check_pair([], ["a"]) == []
    assert check_pair(["c", "a"], ["a", "b", "c"]) == ["c", "a"]
    for bad, match in [("ab", "list of two"), (["a"], "two different"), (["a", "z"], "not among")]:
        with pytest.raises(ConfigError, match=match):
            check_pair(bad, ["a", "b"])


def test_summaries_hold_no_nan(run):
    path = save_summary(run, "confusion", {"a": float("nan"), "b": [1.0, float("inf")]})
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None]}


def test_a_dataset_rewritten_since_training_is_refused_with_the_change(run):
    import types

    import numpy as np
    import xarray as xr

    from cropkit.core.store import ProductReplacedWarning
    from cropkit.datasets import save_dataset
    from cropkit.stages.training import model_dataset

    def dataset(streams):
        data = {s: (("sample", "time"), np.zeros((3, 2), np.float32)) for s in streams}
        return xr.Dataset({**data, "tier4": ("sample", np.zeros(3, np.int16))})

    save_dataset(dataset(["s2", "s1"]), run, "pixels")
    (run.path / "models" / "xgboost" / "dataset.json").write_text(
        json.dumps({"pixels": {"streams": ["s2", "s1"], "samples": 3}})
    )
    model = types.SimpleNamespace(name="xgboost", kind="pixel")
    assert set(model_dataset(run, model)) >= {"s2", "s1"}  # the dataset it was trained on
    with pytest.warns(ProductReplacedWarning, match=r"streams: \['s2', 's1'\] -> \['s2'\]"):
        save_dataset(dataset(["s2"]), run, "pixels")  # a later run with fewer inputs
    with pytest.raises(DataError, match=r"rewritten since xgboost was trained .*\['streams'\]"):
        model_dataset(run, model)
