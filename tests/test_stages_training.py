"""Notebook 04's stage: the composites a training run needs."""

import pytest

from cropkit.config import RunConfig


def test_training_inputs_follow_what_the_provider_offers():
    from cropkit.errors import ConfigError
    from cropkit.stages.training import training_inputs

    assert training_inputs(RunConfig(), ["s2"], compare=True) == ["enmap", "s1", "s2"]
    assert training_inputs(RunConfig(), ["s2"]) == ["s2"]
    assert training_inputs(RunConfig(stac="earth-search"), ["s2"], compare=True) == ["s2"]
    with pytest.raises(ConfigError):
        training_inputs(RunConfig(stac="earth-search"), ["s2", "enmap"])
