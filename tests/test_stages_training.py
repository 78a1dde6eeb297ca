"""Notebook 04's stage: the inputs and composites a training run needs."""

import pytest

from cropkit.access.providers import SensorSkippedWarning
from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError
from cropkit.stages.training import training_inputs


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
