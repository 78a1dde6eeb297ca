"""The deep-model contract, tested over every registered network."""

import pytest
import torch

from cropkit.compute.splits import TRAIN, zone_holdout
from cropkit.core.errors import ConfigError, DataError
from cropkit.datasets import patch_dataset, pixel_dataset, select_split
from cropkit.datasets.torchdata import Standardiser, StreamSpec, TensorStreams, stream_stats
from cropkit.experiments.classifiers import get_model
from cropkit.models import NETWORKS, build_network, network_class
from cropkit.models.base import ATTENTION
from cropkit.models.layers import DateEncoding, LightweightTemporalAttention

PIXEL_NETWORKS = sorted(n for n in NETWORKS if network_class(n).kind == "pixel")
PATCH_NETWORKS = sorted(n for n in NETWORKS if network_class(n).kind == "patch")


@pytest.fixture(scope="module")
def toy_sets(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    pixels = pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"], toy_scene["enmap"])
    patches = patch_dataset(
        toy_scene["s2"], labels, split, size=8, s1=toy_scene["s1"], enmap=toy_scene["enmap"]
    )
    return {"pixel": pixels, "patch": patches}


def _batch(ds, inputs, n=4):
    streams = TensorStreams(ds, inputs)
    return streams.spec, Standardiser(stream_stats(streams))(streams[torch.arange(n)])


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_forward_shapes_and_attention_dims(name, toy_sets):
    cls = network_class(name)
    inputs = tuple(s for s in ("s2", "s1", "enmap") if s in cls.supported_inputs)
    spec, batch = _batch(toy_sets[cls.kind], inputs)
    torch.manual_seed(0)
    net = build_network(name, spec).eval()
    logits = net(batch)
    # single-head models give tier 4 (coarser tiers by roll-up), hierarchical every tier
    tiers = {"tier1", "tier2", "tier3", "tier4"} if cls.hierarchical else {"tier4"}
    assert set(logits) == tiers
    for tier in tiers:
        n = spec.n_classes[tier]
        assert logits[tier].shape == ((4, n) if cls.kind == "pixel" else (4, n, 8, 8))
    out, attention = net(batch, return_attention=True)
    assert torch.allclose(out["tier4"], logits["tier4"])
    assert set(attention) == set(cls.attention_for(inputs)) <= set(ATTENTION)
    expected_ndim = {"temporal": 3, "temporal_s1": 3, "channel": 2, "spectral": 2, "spatial": 3}
    for key, value in attention.items():  # the one documented shape per name
        patch_series = cls.kind == "patch" and key.startswith("temporal")
        assert value.shape[0] == 4 and value.ndim == expected_ndim[key] + 2 * patch_series
    for key, steps in (("temporal", 12), ("temporal_s1", spec.steps.get("s1"))):
        if key in attention:  # (B, head, T, ...): weights over the dates sum to one
            assert attention[key].shape[2] == steps
            assert torch.allclose(attention[key].sum(dim=2), torch.ones(()), atol=1e-5)
    assert 1_000 < net.n_parameters < 2_000_000


def test_ltae_attention_ignores_padded_dates_and_follows_the_input(toy_sets):
    spec, batch = _batch(toy_sets["pixel"], ("s2",))
    net = build_network("ltae", spec).eval()
    batch["s2_pad"] = batch["s2_pad"].clone()
    batch["s2_pad"][:, -3:] = True
    _, attention = net(batch, return_attention=True)
    assert (attention["temporal"][..., -3:] == 0).all()
    changed = dict(batch, s2=batch["s2"] * 3 + 1)
    _, other = net(changed, return_attention=True)
    assert not torch.allclose(attention["temporal"], other["temporal"])


def test_date_encoding_and_temporal_attention_layers():
    enc = DateEncoding(8)(torch.tensor([[0, 100]]))
    assert enc.shape == (1, 2, 8) and torch.allclose(enc[0, 0, 1::2], torch.ones(4))
    layer = LightweightTemporalAttention(3, d_model=8, n_head=2, d_k=4, out_channels=5)
    out, att = layer(torch.randn(6, 7, 3), torch.arange(7).expand(6, 7) * 30)
    assert out.shape == (6, 5) and att.shape == (6, 2, 7)
    with pytest.raises(ValueError, match="divisible by n_head"):
        LightweightTemporalAttention(3, d_model=10, n_head=4)


@pytest.mark.parametrize("name", PIXEL_NETWORKS)
def test_pixel_models_overfit_a_tiny_separable_set(name, toy_sets):
    train = select_split(toy_sets["pixel"], TRAIN)
    model = get_model(
        name,
        epochs=6,
        samples_per_epoch=2048,
        batch_size=128,
        learning_rate=3e-3,
        inputs=("s2", "s1", "enmap"),
    )
    model.fit(train, progress=False)
    assert (model.predict(train) == train["tier4"].values).mean() >= 0.95
    assert model.info["parameters"] == model.module.network.n_parameters


@pytest.mark.parametrize("name", PATCH_NETWORKS)
def test_patch_models_overfit_a_tiny_separable_set(name, toy_sets):
    train = select_split(toy_sets["patch"], TRAIN)
    model = get_model(name, epochs=40, batch_size=8, learning_rate=2e-3, warmup_epochs=0)
    model.fit(train, progress=False)
    y = train["tier4"].values
    assert (model.predict(train)[y >= 0] == y[y >= 0]).mean() >= 0.95
    if model.hierarchical:  # every head learns its own tier
        tiers = model.predict_tiers(train)
        for tier in ("tier1", "tier2", "tier3"):
            t = train[tier].values
            assert (tiers[tier][t >= 0] == t[t >= 0]).mean() >= 0.95


def test_models_refuse_data_they_cannot_read(toy_sets):
    spec = StreamSpec.from_dataset(toy_sets["pixel"], ("s2", "s1"))
    with pytest.raises(DataError, match="utae is a patch model but the dataset holds pixels"):
        build_network("utae", spec)
    patch_spec = StreamSpec.from_dataset(toy_sets["patch"], ("s2", "s1"))
    with pytest.raises(ConfigError, match=r"utae reads \['s2'\], not \['s1'\]"):
        build_network("utae", patch_spec)
    with pytest.raises(DataError, match=r"read \['enmap'\], but the dataset holds only"):
        get_model("ltae", inputs=("s2", "enmap")).fit(
            toy_sets["pixel"].drop_vars("enmap"), progress=False
        )


def test_u_nets_refuse_a_patch_size_their_depth_cannot_halve(toy_sets):
    spec = StreamSpec.from_dataset(toy_sets["patch"], ("s2",))
    spec.patch_size = 6
    for name in PATCH_NETWORKS:
        if "widths" in network_class(name).__init__.__code__.co_varnames:
            with pytest.raises(ConfigError, match="multiple of 4"):
                build_network(name, spec)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_every_docstring_names_its_paper_and_size(name):
    doc = network_class(name).__doc__
    assert "Follows" in doc and "Departures" in doc and "parameters" in doc
    assert "Attention: " in doc
