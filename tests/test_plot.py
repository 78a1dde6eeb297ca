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

    from cropkit.metrics import classification_report
    from cropkit.plot import class_balance, confusion_matrix, per_class_scores, split_map
    from cropkit.splits import split_summary, zone_holdout

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
