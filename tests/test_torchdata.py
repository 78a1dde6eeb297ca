import numpy as np
import pytest
import torch

from cropkit.core.errors import DataError
from cropkit.core.taxonomy import load_taxonomy
from cropkit.datasets import from_arrays
from cropkit.datasets.torchdata import (
    Standardiser,
    StreamSpec,
    TensorStreams,
    stream_stats,
)


def test_pixel_batches_are_dicts_of_named_streams(toy_train_side):
    streams = TensorStreams(toy_train_side, ("s2", "s1", "enmap"))
    batch = streams[torch.tensor([5, 7, 9])]
    assert batch["s2"].shape == (3, 12, 10) and batch["s2"].dtype == torch.float32
    assert batch["s1"].shape == (3, 12, 2)  # its own stream, never in S2's channels
    assert batch["enmap"].shape == (3, 5)
    assert batch["s2_doy"].shape == (3, 12) and batch["s2_doy"][0, :2].tolist() == [16, 46]
    assert batch["s1_doy"].shape == (3, 12)
    assert batch["s2_valid"].dtype == torch.bool and batch["s2_valid"].shape == (3, 12)
    assert not batch["s2_pad"].any()
    for tier in ("tier1", "tier2", "tier3", "tier4"):
        assert batch[tier].dtype == torch.int64
    assert batch["tier4"].tolist() == toy_train_side["tier4"].values[[5, 7, 9]].tolist()
    assert batch["parcel"].tolist() == toy_train_side["parcel"].values[[5, 7, 9]].tolist()
    assert torch.equal(batch["s2"][0], torch.from_numpy(toy_train_side["s2"].values[5]))


def test_patch_batches_keep_the_30m_enmap_grid(toy_patches):
    streams = TensorStreams(toy_patches, ("s2", "s1", "enmap"))
    batch = streams[torch.arange(2)]
    assert batch["s2"].shape == (2, 12, 10, 8, 8) and batch["s1"].shape == (2, 12, 2, 8, 8)
    assert batch["enmap"].shape == (2, 5, 4, 4)
    assert batch["s2_valid"].shape == (2, 12, 8, 8) and batch["tier4"].shape == (2, 8, 8)
    assert streams.spec.kind == "patch" and streams.spec.patch_size == 8


def test_spec_describes_streams_and_tiers(toy_train_side):
    spec = StreamSpec.from_dataset(toy_train_side, ("s2", "s1"))
    assert spec.channels == {"s2": 10, "s1": 2} and spec.steps == {"s2": 12, "s1": 12}
    assert spec.channel_names["s1"] == ["VV", "VH"]
    # the taxonomy's classes, whichever the samples hold, and its parents for every one
    taxonomy = load_taxonomy()
    assert spec.n_classes == {f"tier{k}": len(taxonomy.classes(k)) for k in (4, 3, 2, 1)}
    wheat = taxonomy.index(["winter_soft_wheat"])[0]
    soft_wheat, cereals = taxonomy.index(["soft_wheat"], 3)[0], taxonomy.index(["cereals"], 2)[0]
    assert spec.parents["tier3"][wheat] == soft_wheat and spec.parents["tier2"][wheat] == cereals
    assert spec.parents == taxonomy.parents() and -1 not in spec.parents["tier1"]
    assert spec.taxonomy["taxonomy"] == "rpg"
    assert StreamSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(DataError, match=r"no \['enmap'\] stream"):
        StreamSpec.from_dataset(toy_train_side.drop_vars("enmap"), ("s2", "enmap"))
    with pytest.raises(DataError, match=r"Unknown inputs \['s3'\]"):
        TensorStreams(toy_train_side, ("s3",))


def test_standardiser_scales_on_the_device_with_training_statistics(toy_train_side):
    streams = TensorStreams(toy_train_side, ("s2", "s1", "enmap"))
    stats = stream_stats(streams)
    assert stats["s2"][0].shape == (10,) and stats["enmap"][0].shape == (5,)
    scaled = Standardiser(stats)(streams[torch.arange(len(streams))])
    flat = scaled["s2"].reshape(-1, 10)
    assert torch.allclose(flat.mean(0), torch.zeros(10), atol=1e-3)
    assert torch.allclose(flat.std(0), torch.ones(10), atol=1e-2)
    assert torch.allclose(scaled["enmap"].mean(0), torch.zeros(5), atol=1e-3)


def test_nan_inputs_become_zero_after_scaling(toy_train_side):
    holes = toy_train_side.copy(deep=True)
    holes["s2"][0, 0, 0] = np.nan
    streams = TensorStreams(holes, ("s2",))
    scaled = Standardiser(stream_stats(streams))(streams[torch.tensor([0])])
    assert scaled["s2"][0, 0, 0] == 0 and torch.isfinite(scaled["s2"]).all()


def test_per_sample_dates_and_padding_from_arrays():
    x = np.random.default_rng(0).random((6, 4, 3)).astype("float32")
    doy = np.array([[10, 40, 70, -1]] * 6)  # the last date is padding
    ds = from_arrays(x, doy, np.array(["BTH", "MIS"] * 3), s1=x[:, :3, :2], s1_doy=[5, 50, 95])
    batch = TensorStreams(ds, ("s2", "s1"))[torch.arange(6)]
    assert batch["s2_doy"].shape == (6, 4) and batch["s2_pad"][:, -1].all()
    assert not batch["s2_pad"][:, :-1].any()
    assert batch["s1"].shape == (6, 3, 2) and batch["s1_doy"][0].tolist() == [5, 50, 95]


def test_streams_read_from_the_store_serve_the_same_batches(toy_patches, tmp_path):
    from cropkit.datasets import open_dataset, save_dataset
    from cropkit.datasets.loaders import make_loader

    save_dataset(toy_patches, tmp_path, "patches")
    stored = open_dataset(tmp_path, "patches")
    inputs = ("s2", "s1", "enmap")
    memory, store = TensorStreams(stored.compute(), inputs), TensorStreams(stored, inputs, False)
    assert store.streamed and not memory.streamed and len(store) == len(memory)
    for a, b in zip(make_loader(memory, 3, seed=4), make_loader(store, 3, seed=4)):
        assert a.keys() == b.keys()
        assert all(torch.equal(torch.nan_to_num(a[k]), torch.nan_to_num(b[k])) for k in a)
    # a batch asking for one sample twice, out of order
    twice = torch.tensor([4, 1, 4])
    assert torch.equal(memory[twice]["s2"].nan_to_num(), store[twice]["s2"].nan_to_num())
    one, other = stream_stats(memory), stream_stats(store)
    assert all(np.array_equal(one[s][k], other[s][k]) for s in inputs for k in (0, 1))
