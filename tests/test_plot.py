import datetime as dt

import holoviews as hv
import pystac
import pytest

from cropkit.config import RunConfig
from cropkit.plot import area_map, cloud_cover_timeline, footprints


def _items(n):
    geom = {
        "type": "Polygon",
        "coordinates": [[[1.5, 48.3], [1.6, 48.3], [1.6, 48.4], [1.5, 48.3]]],
    }
    return pystac.ItemCollection(
        [
            pystac.Item(
                f"i{k}",
                geom,
                [1.5, 48.3, 1.6, 48.4],
                dt.datetime(2023, 1 + k, 1),
                {"eo:cloud_cover": 10.0 * k, "platform": "sentinel-2a" if k % 2 else "sentinel-2b"},
                collection="sentinel-2-l2a",
            )
            for k in range(n)
        ]
    )


def test_cloud_cover_timeline_plots_every_item():
    plot = cloud_cover_timeline(_items(6), max_cloud=30)
    assert isinstance(plot, hv.Overlay)
    scatters, line = list(plot)
    assert sorted(scatters.keys()) == ["sentinel-2a", "sentinel-2b"]
    assert sum(len(el) for el in scatters) == 6
    assert sorted(v for el in scatters for v in el.dimension_values("eo:cloud_cover")) == [
        0,
        10,
        20,
        30,
        40,
        50,
    ]
    assert isinstance(line, hv.HLine) and line.data == 30  # the dashed line sits at the cloud limit


def test_maps_show_the_zones_and_footprints():
    cfg = RunConfig()
    layers = [getattr(c, "layer_name", None) for c in area_map(cfg)._children.values()]
    assert "zones" in layers
    layers = [
        getattr(c, "layer_name", None)
        for c in footprints({"s2": _items(2)}, cfg)._children.values()
    ]
    assert "s2 footprints (2)" in layers


def test_training_plots(toy_scene):
    import holoviews as hv
    import pandas as pd

    from cropkit.compute.metrics import classification_report
    from cropkit.compute.splits import split_summary, zone_holdout
    from cropkit.plot import class_balance, confusion_matrix, per_class_scores, split_map

    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.25, block_px=20)
    tables = {t: split_summary(split, labels[t]) for t in ("tier4", "tier2")}
    layout = class_balance(tables)
    assert isinstance(layout, hv.Layout) and len(layout) == 2
    assert isinstance(split_map(split), hv.Image)
    report = classification_report(list("aaabbc"), list("aabbcc"))
    ax = confusion_matrix(report.confusion)
    shown = ax.images[0].get_array()
    assert shown[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])  # row-normalised
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    counts = confusion_matrix(report.confusion, normalize=False).images[0].get_array()
    assert counts[1].tolist() == [0, 1, 1]
    bars = per_class_scores(
        pd.DataFrame({"S2": [0.5, 0.7], "S2 + S1": [0.6, 0.8]}, index=["a", "b"])
    )
    assert isinstance(bars, hv.Bars) and len(bars.data) == 4


def test_slider_frames_are_small_float32_under_a_dated_slider():
    import numpy as np
    import pandas as pd
    import xarray as xr

    from cropkit.plot.composites import _slider_frames, composite_rgb_slider

    periods = pd.date_range("2023-01-01", periods=3, freq="MS")
    da = xr.DataArray(
        np.arange(3 * 900 * 500, dtype=float).reshape(3, 900, 500),
        dims=("period", "y", "x"),
        coords={"period": periods, "y": np.arange(900), "x": np.arange(500)},
    )
    frames = _slider_frames(da)
    assert frames.sizes == {"period": 3, "y": 300, "x": 166} and frames.dtype == np.float32
    assert (frames["period"].values == periods.values).all()  # dates: a slider, not a drop-down
    assert frames.values[0, 0, 0] == np.mean(da.values[0, :3, :3])  # 3 x 3 block means
    lazy = _slider_frames(da.chunk({"period": 1}))  # a composite opened from its store
    assert isinstance(lazy.variable._data, np.ndarray)  # read once, not once per frame
    np.testing.assert_array_equal(lazy.values, frames.values)
    composite = xr.Dataset(
        {"median": da.expand_dims(band=["B04", "B03", "B02"]).transpose("period", "band", ...)}
    )
    slider = composite_rgb_slider(composite)
    assert isinstance(slider, hv.HoloMap) and not isinstance(slider, hv.DynamicMap)  # embedded
    assert len(slider) == 3 and slider.kdims[0].pprint_value(periods[1]) == "2023-02-01"
    assert slider[periods[2]].label == "" and "2023-03-01" in slider[periods[2]].opts["title"]


def test_one_palette_tells_eleven_crops_apart():
    from cropkit.plot import class_colors, qualitative

    colors = qualitative(24)
    assert len(set(colors)) == 24 and colors[0] == "#1f77b4"  # Category10 first
    crops = [f"crop{k}" for k in range(11)]
    assert len(set(class_colors(crops).values())) == 11
    assert class_colors(["b", "a"]) == {"a": colors[0], "b": colors[1]}


def test_attention_and_gradients_panels_are_labelled_with_one_legend():
    import numpy as np
    import xarray as xr

    from cropkit.plot import attention_and_gradients

    profile = xr.DataArray(
        np.full((5, 12), 1 / 12),
        dims=("class", "time"),
        coords={"class": list("abcde"), "doy": ("time", 15 + 30 * np.arange(12))},
    )
    axes = attention_and_gradients(profile, profile, cols=3)
    fig = axes[0, 0].figure
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["attention", "gradients"]
    assert axes[0, 0].get_ylabel() == "share of the weight" and axes[1, 0].get_ylabel()
    assert axes[1, 1].get_xlabel() == "day of the year" and axes[0, 1].get_xlabel() == ""
