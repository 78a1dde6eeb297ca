import subprocess
import sys

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch

from cropkit.compute.splits import TRAIN, VAL, zone_holdout
from cropkit.core.errors import ConfigError, TrainingError
from cropkit.datasets import pixel_dataset, save_dataset, select_split
from cropkit.experiments.classifiers import get_model, load_model
from cropkit.trainer import TrainerSettings, resolve_precision

FAST = {"epochs": 3, "samples_per_epoch": 1024, "batch_size": 128}


@pytest.fixture(scope="module")
def toy_pixels(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.25, block_px=20)
    return pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"])


@pytest.fixture(scope="module")
def sides(toy_pixels):
    return select_split(toy_pixels, TRAIN), select_split(toy_pixels, VAL)


class KillAt(L.Callback):
    """Stop training as a kill would, at the start of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, module):
        if trainer.current_epoch == self.epoch:
            raise KeyError("killed")


def _weights(model):
    return {k: v.clone() for k, v in model.module.network.state_dict().items()}


def test_resume_after_a_kill_ends_at_the_same_weights(sides, tmp_path):
    train, val = sides
    whole = get_model("ltae", **FAST).fit(
        train, val, checkpoint_dir=tmp_path / "whole", progress=False
    )
    killed = get_model("ltae", **FAST)
    with pytest.raises(KeyError, match="killed"):
        killed.fit(
            train, val, checkpoint_dir=tmp_path / "killed", callbacks=[KillAt(2)], progress=False
        )
    assert (tmp_path / "killed" / "last.ckpt").exists()
    resumed = get_model("ltae", **FAST).fit(
        train, val, checkpoint_dir=tmp_path / "killed", resume=True, progress=False
    )
    assert resumed.info["resumed"] and resumed.info["epochs"] == whole.info["epochs"]
    a, b = _weights(whole), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.history["val_f1"].tolist() == pytest.approx(whole.history["val_f1"].tolist())


def test_a_checkpoint_of_another_model_or_config_is_refused(sides, tmp_path):
    train, val = sides
    get_model("ltae", **FAST).fit(train, val, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(TrainingError, match="written by model 'ltae' with other settings"):
        get_model("tempcnn", **FAST).fit(
            train, val, checkpoint_dir=tmp_path, resume=True, progress=False
        )
    with pytest.raises(TrainingError, match="model_params differ"):
        get_model("ltae", d_model=64, **FAST).fit(
            train, val, checkpoint_dir=tmp_path, resume=True, progress=False
        )


def test_training_log_has_one_row_per_epoch(sides, tmp_path):
    train, val = sides
    model = get_model("tempcnn", **FAST).fit(train, val, checkpoint_dir=tmp_path, progress=False)
    log = model.history
    assert log["epoch"].tolist() == [0, 1, 2]
    for column in ("train_loss", "val_loss", "val_f1", "samples_per_s", "data_wait_share", "lr"):
        assert log[column].notna().all(), column
    assert log["lr"].iloc[-1] < log["lr"].iloc[0]  # cosine decay
    assert (tmp_path / "best.ckpt").exists() and (tmp_path / "last.ckpt").exists()
    assert model.info["best_epoch"] == int(log["val_f1"].idxmax())


def test_bf16_autocast_on_cpu(sides):
    train, _ = sides
    model = get_model("ltae", precision="bf16-mixed", **FAST).fit(train, progress=False)
    assert model.info["precision"] == "bf16-mixed"
    assert np.isfinite(model.predict_proba(train)).all()
    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("auto", "cuda") == "bf16-mixed"


def test_a_nan_loss_stops_with_the_batch_and_the_cause(sides, tmp_path):
    train, _ = sides
    broken = train.copy(deep=True)
    broken["s2"][:] = 1e30  # overflows the first layer
    model = get_model("tempcnn", learning_rate=1e9, **FAST)
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 0, batch \d+. Likely"):
        model.fit(broken, progress=False)


def test_out_of_memory_names_a_smaller_batch(sides):
    class OOM(L.Callback):
        def on_train_batch_start(self, *args):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(TrainingError, match="try batch_size=64"):
        get_model("ltae", **FAST).fit(sides[0], callbacks=[OOM()], progress=False)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive number, not 0"),
        ({"learning_rate": -1e-3}, "learning_rate must be a positive number"),
        ({"batch_size": 2.5}, "batch_size must be a whole number"),
        ({"precision": "fp8"}, "precision must be one of"),
        ({"patience": -1}, "patience must be zero or more"),
        ({"batch_size": "big"}, 'batch_size must be a positive number or "auto"'),
    ],
)
def test_bad_trainer_settings_are_clear_errors(setting, message):
    with pytest.raises(ConfigError, match=message):
        get_model("ltae", **setting)


def test_trainer_settings_read_every_config_key():
    from cropkit.models import NETWORKS, model_config

    for name in NETWORKS:
        TrainerSettings(**model_config(name)["trainer"])


def test_saved_deep_model_reloads_with_its_history(sides, tmp_path):
    train, val = sides
    model = get_model("ltae", inputs=("s2", "s1"), **FAST).fit(train, val, progress=False)
    again = load_model(model.save(tmp_path / "ltae"))
    assert np.allclose(again.predict_proba(val), model.predict_proba(val), atol=1e-6)
    assert again.inputs == ("s2", "s1") and len(again.history) == 3
    assert isinstance(again.history, pd.DataFrame)


def test_a_fit_without_a_checkpoint_folder_leaves_no_temporary_one(sides, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where mkdtemp makes folders
    train, val = sides
    model = get_model("tempcnn", **FAST).fit(train, val, progress=False)
    assert list(tmp_path.iterdir()) == [] and model.checkpoint_dir is None
    assert len(model.history) == 3 and model.info["best_val_f1"] is not None


@pytest.mark.parametrize("pooled", [False, True], ids=["one run", "two runs pooled"])
def test_ddp_with_two_cpu_processes(toy_pixels, tmp_path, pooled):
    from cropkit.experiments.pooling import pool_datasets

    data = toy_pixels
    if pooled:  # a study's data: runs stacked with a region coordinate
        data = pool_datasets({"a": toy_pixels, "b": toy_pixels.isel(sample=slice(0, 2000))})
    save_dataset(data, tmp_path, "pixels")
    command = [
        sys.executable,
        "-m",
        "cropkit",
        "train",
        str(tmp_path),
        "--model",
        "ltae",
        "--set",
        "epochs=2",
        "--set",
        "samples_per_epoch=1024",
        "--devices",
        "2",
        "-q",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"devices": 2' in done.stdout
    assert (tmp_path / "models" / "ltae" / "weights.pt").exists()
    assert (tmp_path / "models" / "ltae" / "checkpoints" / "last.ckpt").exists()
    assert "train_ltae" in (tmp_path / "manifest.json").read_text()


def test_a_failed_fit_leaves_no_checkpoint_folder_behind(sides, tmp_path):
    train, _ = sides
    broken = train.copy(deep=True)
    broken["s2"][:] = 1e30
    folder = tmp_path / "models" / "tempcnn" / "checkpoints"
    with pytest.raises(TrainingError):
        get_model("tempcnn", learning_rate=1e9, **FAST).fit(
            broken, None, checkpoint_dir=folder, progress=False
        )
    assert not folder.exists()


def test_any_bad_trainer_setting_is_a_config_error():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cropkit.models import model_config

    base = model_config("ltae")["trainer"]
    numbers = (
        "epochs",
        "batch_size",
        "learning_rate",
        "weight_decay",
        "warmup_epochs",
        "gradient_clip",
        "patience",
        "samples_per_epoch",
        "max_val_samples",
        "max_minutes",
        "devices",
        "class_weight_power",
    )
    wrong = st.one_of(
        st.text(max_size=5).filter(lambda text: text != "auto"),  # auto: sized from the data
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.floats(max_value=-1e-9),
        st.integers(max_value=-1),
        st.sampled_from([float("nan"), float("inf")]),
    )

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(numbers), wrong)
    def check(name, value):
        with pytest.raises(ConfigError, match=name):
            TrainerSettings(**{**base, name: value})

    check()


def test_a_dataset_larger_than_memory_trains_from_its_store_to_the_same_weights(
    toy_pixels, tmp_path, monkeypatch
):
    from cropkit.datasets import open_dataset
    from cropkit.datasets.torchdata import streams_for

    save_dataset(toy_pixels, tmp_path, "pixels")
    stored = open_dataset(tmp_path, "pixels")  # lazily opened, dask-backed
    train, val = select_split(stored, TRAIN), select_split(stored, VAL)
    in_memory = get_model("ltae", **FAST).fit(train.compute(), val.compute(), progress=False)
    monkeypatch.setenv("CROPKIT_MEMORY_LIMIT", "1kB")  # nothing fits: read a batch at a time
    assert streams_for(train, ("s2",)).streamed
    assert not streams_for(train.compute(), ("s2",)).streamed
    streamed = get_model("ltae", **FAST).fit(train, val, progress=False)
    a, b = _weights(in_memory), _weights(streamed)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same batches, the same statistics
    assert np.array_equal(streamed.predict(val), in_memory.predict(val.compute()))
    monkeypatch.setenv("CROPKIT_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="CROPKIT_MEMORY_LIMIT='lots' is not a size"):
        streams_for(train, ("s2",))
