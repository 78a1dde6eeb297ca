"""Pair probes: what tells two look-alike crops apart, against a known answer."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from cropkit.analysis.pairs import attention_contrast, pair_gradients, pair_hit_rates, pair_peaks
from cropkit.core.errors import DataError

MONTHS = pd.date_range("2023-01-01", periods=12, freq="MS")


def test_attention_contrast_is_where_the_two_classes_look_differently():
    profile = xr.DataArray(
        [[0.1, 0.5, 0.4], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]],
        dims=("class", "time"),
        coords={"class": ["wheat", "durum", "maize"]},
    )
    contrast = attention_contrast(profile, "wheat", "durum")
    assert contrast.dims == ("time",) and np.allclose(contrast.values, [0.0, 0.3, 0.3])
    with pytest.raises(DataError, match=r"No attention profile for \['barley'\]"):
        attention_contrast(profile, "wheat", "barley")


def test_pair_peaks_score_each_probe_against_the_best_separating_period():
    separation = xr.DataArray(
        np.array([[0, 1, 2, 3, 4, 9, 4, 3, 2, 1, 0, 0], [9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]),
        dims=("pair", "time"),
        coords={"time": MONTHS, "a": ("pair", ["w", "b"]), "b": ("pair", ["d", "s"])},
    )
    near, far = np.zeros(12), np.zeros(12)
    near[6], far[1] = 1.0, 1.0  # June peaks beside May's best; February far from it
    probes = {
        ("ltae", "attention"): {("w", "d"): near, ("b", "s"): far},  # hits both
        ("ltae", "gradients"): {("w", "d"): far},  # misses; lacks the other pair
    }
    peaks = pair_peaks(separation, probes, tolerance=1)
    assert len(peaks) == 3
    row = peaks.set_index(["probe", "a"]).loc[("attention", "w")]
    assert (row["best"], row["peak"], row["distance"], row["hit"]) == ("01 Jun", "01 Jul", 1, True)
    assert row["chance"] == pytest.approx(3 / 12)
    assert peaks.set_index(["probe", "a"]).loc[("attention", "b"), "chance"] == pytest.approx(
        2 / 12
    )
    rates = pair_hit_rates(peaks)
    assert rates.loc[("ltae", "attention"), "hit_rate"] == 1.0
    assert rates.loc[("ltae", "gradients"), ["pairs", "hits"]].tolist() == [1, 0]


def test_pair_gradients_find_the_one_date_where_two_crops_differ():
    pytest.importorskip("captum")
    from cropkit.experiments.classifiers import get_model

    rng = np.random.default_rng(0)
    n, steps = 400, 12
    base = 0.2 + 0.1 * np.sin(np.linspace(0, np.pi, steps))[None, :, None]
    s2 = base + 0.01 * rng.standard_normal((n, steps, 4))
    labels = np.array(["winter_soft_wheat", "winter_durum_wheat"] * (n // 2))
    s2[labels == "winter_durum_wheat", 7, :] += 0.08  # they differ in August only
    ds = from_arrays_of(s2, labels)
    model = get_model("tempcnn", epochs=6, batch_size=64, samples_per_epoch=0)
    model.fit(ds.isel(sample=np.flatnonzero(ds["split"].values == 0)), progress=False)
    share = pair_gradients(model, ds, "winter_soft_wheat", "winter_durum_wheat", split=None)
    assert share.dims == ("time",) and share.sum() == pytest.approx(1.0)
    assert int(np.argmax(share.values)) == 7 and float(share[7]) > 0.3
    with pytest.raises(DataError, match=r"has no class \['moon_beans'\]"):
        pair_gradients(model, ds, "winter_soft_wheat", "moon_beans")
    with pytest.raises(DataError, match="No sample of grain_maize or silage_maize"):
        pair_gradients(model, ds, "grain_maize", "silage_maize")


def from_arrays_of(s2, labels):
    from cropkit.datasets import from_arrays

    return from_arrays(
        s2.astype(np.float32),
        np.array([15 + 30 * i for i in range(s2.shape[1])]),
        labels,
        band_names=["B02", "B03", "B04", "B08"],
    )
