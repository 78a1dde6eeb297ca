"""The source works' models: hierarchical heads, EnMAP on the 10 m grid, fused variants."""

import time

import numpy as np
import pytest
import torch

from cropkit.compute.splits import TRAIN
from cropkit.core.errors import ConfigError, DataError, TaxonomyError
from cropkit.core.taxonomy import load_taxonomy
from cropkit.datasets import select_split
from cropkit.datasets.torchdata import Standardiser, StreamSpec, TensorStreams, stream_stats
from cropkit.experiments.classifiers import get_model
from cropkit.experiments.fit import fit_and_score
from cropkit.experiments.robustness import occlude_periods
from cropkit.models import build_network, model_inputs
from cropkit.models.dual_stream import to_patch_grid
from cropkit.models.hierarchy import (
    HierarchicalHeads,
    check_nesting,
    joint_decode,
    tier_agreement,
)

# four tier-4 classes: a, b under A (under I), c under C, d under D (both under II)
CLASSES = {
    "tier4": ["a", "b", "c", "d"],
    "tier3": ["A", "C", "D"],
    "tier2": ["A", "CD"],
    "tier1": ["I", "II"],
}
PARENTS = {
    "tier4": [0, 1, 2, 3],
    "tier3": [0, 0, 1, 2],
    "tier2": [0, 0, 1, 1],
    "tier1": [0, 0, 1, 1],
}


def _spec(**changes) -> StreamSpec:
    spec = StreamSpec("pixel", ("s2",), {"s2": 3}, {"s2": 5}, classes=CLASSES, parents=PARENTS)
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


@pytest.fixture(scope="module")
def patches(attention_patches):
    return attention_patches


def _batch(ds, inputs, n=4):
    streams = TensorStreams(ds, inputs)
    return streams.spec, Standardiser(stream_stats(streams))(streams[torch.arange(n)])


def test_tier_agreement_on_hand_made_predictions():
    predicted = {
        "tier4": np.array([0, 1, 2, 3]),
        "tier3": np.array([0, 0, 1, 1]),  # the last pixel says C for a d
        "tier2": np.array([0, 0, 1, 1]),
        "tier1": np.array([0, 1, 1, 1]),  # the second says II for a b
    }
    agree = tier_agreement(predicted, PARENTS)
    assert agree == {"tier1": 0.75, "tier2": 1.0, "tier3": 0.75, "all": 0.5}


def test_joint_decoding_takes_the_best_path_of_the_taxonomy():
    # tier 4 hesitates between a (0.40) and c (0.35); tier 3 and tier 1 are sure of C, II
    proba = {
        "tier4": np.array([[0.40, 0.05, 0.35, 0.20]]),
        "tier3": np.array([[0.10, 0.80, 0.10]]),
        "tier2": np.array([[0.30, 0.70]]),
        "tier1": np.array([[0.20, 0.80]]),
    }
    # a: log .40 + log .10 + log .30 + log .20 = -6.03; c: log .35 + log .80 + log .70
    # + log .80 = -1.79: the path c, C, CD, II (the heads' own answers would say a, C, CD, II)
    assert {t: v.tolist() for t, v in joint_decode(proba, PARENTS).items()} == {
        "tier4": [2],
        "tier3": [1],
        "tier2": [1],
        "tier1": [1],
    }
    rng = np.random.default_rng(0)
    sizes = {t: len(c) for t, c in CLASSES.items()}
    proba = {t: rng.dirichlet(np.ones(k), size=(500,)) for t, k in sizes.items()}
    proba["tier4"][:, 3] = 0.0  # a class no training pixel held: never chosen
    joint = joint_decode(proba, PARENTS)
    assert tier_agreement(joint, PARENTS)["all"] == 1.0 and not (joint["tier4"] == 3).any()
    heads = {t: p.argmax(1) for t, p in proba.items()}
    nested = np.ones(500, bool)
    for tier in ("tier1", "tier2", "tier3"):
        nested &= np.asarray(PARENTS[tier])[heads["tier4"]] == heads[tier]
    assert 0 < nested.sum() < 500  # both cases occur
    for tier in CLASSES:  # where the heads nest, joint decoding keeps their answers
        assert (joint[tier][nested] == heads[tier][nested]).all()
    # a map: classes first, (K, H, W)
    grid = {t: np.moveaxis(p.reshape(20, 25, -1), -1, 0) for t, p in proba.items()}
    assert (joint_decode(grid, PARENTS, axis=0)["tier4"].ravel() == joint["tier4"]).all()


def test_the_cascade_gives_every_tier_and_reads_the_coarser_logits():
    torch.manual_seed(0)
    heads = HierarchicalHeads(6, _spec(), spatial=False, hidden=8, dropout=0.0).eval()
    features = torch.randn(5, 6)
    logits = heads(features)
    assert {t: tuple(v.shape) for t, v in logits.items()} == {
        "tier1": (5, 2),
        "tier2": (5, 2),
        "tier3": (5, 3),
        "tier4": (5, 4),
    }
    assert heads.heads["tier4"][0].in_features == 6 + 3  # features + tier-3 logits
    with torch.no_grad():  # tier 4 changes when only the tier-1 head changes
        before = logits["tier4"].clone()
        heads.heads["tier1"][-1].bias += 5.0
        assert not torch.allclose(heads(features)["tier4"], before)
        assert torch.allclose(heads(features)["tier1"], logits["tier1"] + 5.0)
    spatial = HierarchicalHeads(6, _spec(), spatial=True, hidden=8)(torch.randn(2, 6, 3, 3))
    assert spatial["tier3"].shape == (2, 3, 3, 3)


def test_a_taxonomy_whose_tiers_do_not_nest_is_named():
    bad = {**PARENTS, "tier2": [0, 1, 1, 1]}  # a and b share tier-3 A but not tier 2
    with pytest.raises(TaxonomyError, match=r"tier3 class 'A' under tier2 \['A', 'CD'\]"):
        check_nesting(_spec(parents=bad))
    check_nesting(_spec())  # the good one passes


def test_enmap_features_land_where_the_patch_lies_in_its_window():
    ew = 6
    columns = torch.arange(ew, dtype=torch.float32).expand(1, 1, ew, ew).clone()
    for offset in (0.0, 0.4, 0.9):
        out = to_patch_grid(columns, torch.tensor([[0.2, offset]]), size=9, scale=1 / 3)
        centres = offset + (torch.arange(9) + 0.5) / 3  # in EnMAP pixels
        expected = (centres - 0.5).clamp(0, ew - 1)  # bilinear between pixel centres
        assert out.shape == (1, 1, 9, 9)
        assert torch.allclose(out[0, 0, 4], expected, atol=1e-5)


def test_patch_datasets_place_each_patch_in_its_enmap_window(patches):
    offset = patches["enmap_offset"].values
    assert offset.shape == (patches.sizes["patch"], 2)
    assert (offset >= 0).all() and (offset < 1).all()
    assert patches.attrs["enmap_scale"] == pytest.approx(1 / 3)
    spec = StreamSpec.from_dataset(patches, ("s2", "enmap"))
    assert spec.enmap_grid == {"side": patches.sizes["eh"], "scale": pytest.approx(1 / 3)}


def test_enmap_windows_that_miss_the_patches_are_refused(patches):
    shifted = patches.copy()
    shifted["enmap_offset"] = patches["enmap_offset"] + 2.5
    with pytest.raises(DataError, match=r"EnMAP windows \(4 x 4 EnMAP pixels\) do not cover"):
        StreamSpec.from_dataset(shifted, ("s2", "enmap"))
    with pytest.raises(DataError, match="no enmap_offset"):
        StreamSpec.from_dataset(patches.drop_vars("enmap_offset"), ("s2", "enmap"))


@pytest.mark.parametrize(
    ("name", "inputs", "channel"),
    [
        ("attention3dcnn", ("s2",), 10),
        ("attention3dcnn", ("s2", "s1"), 12),
        ("dual_stream", ("s2",), None),
        ("dual_stream", ("s2", "enmap"), None),
    ],
)
def test_s2_only_and_fused_variants(name, inputs, channel, patches):
    spec, batch = _batch(patches, inputs)
    torch.manual_seed(0)
    net = build_network(name, spec).eval()
    logits, attention = net(batch, return_attention=True)
    assert logits["tier4"].shape == (4, spec.n_classes["tier4"], 8, 8)
    if channel:
        assert attention["channel"].shape == (4, channel)
        assert attention["spatial"].shape == (4, 8, 8)
        assert ("temporal_s1" in attention) == ("s1" in inputs)
    if name == "dual_stream":
        assert ("spectral" in attention) == ("enmap" in inputs)
        if "enmap" in inputs:
            spectral = attention["spectral"]
            assert spectral.shape[0] == 4
            assert torch.allclose(spectral.sum(1), torch.ones(4), atol=1e-5)
            # the EnMAP stream changes the answer
            changed = dict(batch, enmap=batch["enmap"] + 1.0)
            assert not torch.allclose(net(changed)["tier4"], logits["tier4"])
    assert {"s2"} <= set(model_inputs(name)) and set(inputs) <= set(model_inputs(name))


def test_a_fusion_model_asked_for_a_sensor_the_run_lacks_offers_the_s2_only_variant(patches):
    train = select_split(patches.drop_vars("s1"), TRAIN)
    model = get_model("attention3dcnn", inputs=("s2", "s1"), epochs=1)
    with pytest.raises(DataError, match=r"inputs=\('s2',\)"):
        model.fit(train, progress=False)


def test_hierarchical_models_score_every_tier_from_their_own_heads(patches):
    result = fit_and_score(
        "dual_stream",
        patches,
        ("s2",),
        epochs=2,
        batch_size=8,
        widths=[8, 16],
        n_head=2,
        d_model=16,
        fused_width=16,
        head_hidden=16,
    )
    agree = result.info["tier_agreement"]  # the heads' own answers
    assert set(agree) == {"tier1", "tier2", "tier3", "all"}
    assert 0.0 <= agree["all"] <= min(agree["tier1"], agree["tier2"], agree["tier3"]) <= 1.0
    assert set(result.info["independent_macro_f1"]) == {"tier1", "tier2", "tier3", "tier4"}
    frame = result.predictions  # jointly decoded: every tier nests
    assert set(frame["pred_tier3"]) <= set(patches.attrs["classes_tier3"])
    taxonomy = load_taxonomy()
    for level in (1, 2, 3):
        rolled = taxonomy.roll_up(frame["pred_tier4"].to_numpy(), level)
        assert (rolled == frame[f"pred_tier{level}"].to_numpy()).all()
    assert result.reports["tier1"].macro_f1 >= 0.0


def test_clouds_hide_the_same_dates_in_patches(patches):
    hidden = occlude_periods(patches, [5, 6])
    s2, before = hidden["s2"].values, patches["s2"].values
    expected = before[:, 4] + (before[:, 7] - before[:, 4]) / 3  # linear between months 4, 7
    assert np.allclose(s2[:, 5], expected, atol=1e-5, equal_nan=True)
    assert not hidden["valid"].values[:, [5, 6]].any()
    assert np.array_equal(hidden["valid"].values[:, 4], patches["valid"].values[:, 4])
    assert np.array_equal(s2[:, 3], before[:, 3], equal_nan=True)


def _default_geometry_batch(inputs, n=4, seed=0):
    """A random batch at the demo's geometry: 32 x 32 patches, 12 dates, 224 EnMAP bands."""
    g = torch.Generator().manual_seed(seed)
    wavelengths = np.r_[np.linspace(418, 1000, 96), np.linspace(902, 2445, 128)]
    spec = StreamSpec(
        "patch",
        inputs,
        {"s2": 10, "enmap": 224},
        {"s2": 12},
        channel_names={
            "s2": [f"B{i}" for i in range(10)],
            "enmap": [f"{w:.0f}nm" for w in wavelengths],
        },
        classes=CLASSES,
        parents=PARENTS,
        patch_size=32,
        enmap_grid={"side": 12, "scale": 1 / 3} if "enmap" in inputs else {},
    )
    batch = {
        "s2": torch.randn(n, 12, 10, 32, 32, generator=g),
        "s2_doy": torch.arange(15, 365, 30).repeat(n, 1),
        "enmap": torch.randn(n, 224, 12, 12, generator=g),
        "enmap_offset": torch.rand(n, 2, generator=g),
    }
    return spec, batch


def _step_seconds(net, batch, repeats=5):
    """Fastest of ``repeats`` training steps (forward, backward, optimiser)."""
    optimiser = torch.optim.AdamW(net.parameters())
    times = []
    for _ in range(repeats + 1):  # the first warms up
        started = time.perf_counter()
        loss = sum(v.mean() for v in net(batch).values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    return min(times[1:])


def test_enmap_at_most_doubles_the_step_time_of_the_s2_stream_alone():
    torch.manual_seed(0)
    seconds = {}
    for inputs in [("s2",), ("s2", "enmap")]:
        spec, batch = _default_geometry_batch(inputs)
        net = build_network("dual_stream", spec).train()
        seconds[inputs] = _step_seconds(net, batch)
    assert seconds[("s2", "enmap")] / seconds[("s2",)] < 2.0


def test_spectral_tokens_are_regions_of_the_spectrum_or_adjacent_bands():
    spec, batch = _default_geometry_batch(("s2", "enmap"))
    net = build_network("dual_stream", spec).eval()
    assert net.enmap.group_names[:3] == ["blue", "green", "red"]
    _, attention = net(batch, return_attention=True)
    assert attention["spectral"].shape == (4, 15)
    net = build_network("dual_stream", spec, band_groups=32).eval()
    assert len(net.enmap.group_names) == 7 and net.enmap.group_names[0] == "418nm+"
    with pytest.raises(ConfigError, match="'spectrum' or a number"):
        build_network("dual_stream", spec, band_groups="regions")
