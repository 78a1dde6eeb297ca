import hashlib
import json

import numpy as np
import pystac
import pytest
import rasterio

from cropkit.core.errors import ConfigError, UnknownRegionError
from cropkit.core.taxonomy import load_taxonomy
from cropkit.demo import PROFILES, build_demo, demo_spec


def _digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "demo.json"
    }


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    kw = dict(profile="ci", zone_px=32, zones=(1, 1), enmap_scenes=1)
    a = build_demo("auch", 2022, root=tmp_path / "a", workers=1, **kw)
    b = build_demo("auch", 2022, root=tmp_path / "b", workers=2, **kw)
    c = build_demo("auch", 2022, root=tmp_path / "c", seed=1, **kw)
    da, db, dc = _digest(a.root), _digest(b.root), _digest(c.root)
    assert len(da) > 300
    assert da == db
    assert da != dc


def test_built_demo_is_cached(tiny_demo):
    again = build_demo("chartres", 2023, profile="ci", zone_px=64, enmap_scenes=2)
    assert again.root == tiny_demo.root
    assert again.info()["built"] == tiny_demo.info()["built"]


def test_catalog_has_the_three_collections(tiny_demo):
    info = tiny_demo.info()
    assert info["items"] == {"sentinel-2-c1-l2a": 144, "sentinel-1-rtc": 59, "enmap-l2a": 2}
    catalog = pystac.Catalog.from_file(str(tiny_demo.catalog_path))
    assert sorted(c.id for c in catalog.get_children()) == [
        "enmap-l2a",
        "sentinel-1-rtc",
        "sentinel-2-c1-l2a",
    ]


def test_sentinel2_items_follow_earth_search_collection_1(tiny_demo):
    catalog = pystac.Catalog.from_file(str(tiny_demo.catalog_path))
    item = min(catalog.get_child("sentinel-2-c1-l2a").get_items(), key=lambda i: i.datetime)
    assert item.id == "S2B_T31UCP_20230107T105629_L2A"
    assert item.properties["s2:mgrs_tile"] == "31UCP"
    raw = json.loads(open(item.get_self_href()).read())
    assert raw["assets"]["red"]["href"] == "./B04.tif"
    assert (
        raw["properties"]["proj:epsg"] == 32631
    )  # as providers publish it (pystac >= 1.15 reads proj:code)
    assert item.properties["s2:processing_baseline"] == "05.09"
    assert set(item.assets) == {
        "blue",
        "green",
        "red",
        "rededge1",
        "rededge2",
        "rededge3",
        "nir",
        "nir08",
        "swir16",
        "swir22",
        "scl",
        "cloud_truth",
    }
    red = item.assets["red"].to_dict()
    assert red["raster:bands"][0]["scale"] == 0.0001 and red["raster:bands"][0]["offset"] == -0.1
    assert red["proj:shape"] == [64, 128]
    assert item.assets["swir16"].to_dict()["proj:shape"] == [32, 64]
    with rasterio.open(item.assets["scl"].get_absolute_href()) as src:
        assert (src.width, src.height, src.dtypes[0], src.nodata) == (64, 32, "uint8", 0)
        assert src.crs.to_epsg() == 32631


def _s2(tiny_demo):
    catalog = pystac.Catalog.from_file(str(tiny_demo.catalog_path))
    catalog.make_all_asset_hrefs_absolute()
    return sorted(catalog.get_child("sentinel-2-c1-l2a").get_items(), key=lambda i: i.datetime)


def _read(item, key):
    with rasterio.open(item.assets[key].href) as src:
        return src.read(1)


def test_scl_marks_clouds_where_the_clouds_are(tiny_demo):
    agree, flagged_clear = [], []
    for item in _s2(tiny_demo):
        truth = _read(item, "cloud_truth")
        scl = _read(item, "scl")
        scl10 = np.kron(scl, np.ones((2, 2), dtype=scl.dtype))
        thick = truth == 1
        if thick.sum() > 200:
            agree.append(np.isin(scl10[thick], (8, 9)).mean())
        clear = truth == 0
        if clear.sum() > 200:
            flagged_clear.append(np.isin(scl10[clear], (8, 9)).mean())
        outside = (
            (truth == 255).reshape(truth.shape[0] // 2, 2, truth.shape[1] // 2, 2).all(axis=(1, 3))
        )
        assert np.all(scl[outside] == 0)
    assert np.mean(agree) > 0.9  # thick clouds are caught
    assert np.mean(flagged_clear) < 0.1  # clear ground is rarely called cloud


def test_cloud_cover_property_matches_the_scl(tiny_demo):
    for item in _s2(tiny_demo)[:20]:
        scl = _read(item, "scl")
        valid = scl != 0
        expected = 100 * np.isin(scl[valid], (8, 9, 10)).mean() if valid.any() else 0.0
        assert item.properties["eo:cloud_cover"] == pytest.approx(expected, abs=0.01)


def test_crops_green_up_in_their_season(tiny_demo):
    parcels = tiny_demo.parcels()
    tier4 = load_taxonomy().table.loc[parcels["CODE_CULTU"], "tier4"].to_numpy()
    from cropkit.core.regions import get_region
    from cropkit.demo.landscape import rasterize_landscape

    grid = get_region("chartres").grid(64, (2, 1))
    pidx, _ = rasterize_landscape(parcels, tiny_demo.land_cover(), grid)
    crop = np.where(pidx > 0, tier4[np.maximum(pidx - 1, 0)], "")
    summer_crops = ["sugar_beet", "grain_maize", "sunflower"]
    summer = next(c for c in summer_crops if (crop == c).sum() > 200)
    ndvi = {"winter_soft_wheat": {}, summer: {}}
    for item in _s2(tiny_demo):
        clear = _read(item, "cloud_truth") == 0
        red = _read(item, "red") * 1e-4 - 0.1
        nir = _read(item, "nir") * 1e-4 - 0.1
        for name in ndvi:
            m = clear & (crop == name)
            if m.sum() > 30:
                v = (nir[m] - red[m]) / (nir[m] + red[m])
                ndvi[name][item.datetime.timetuple().tm_yday] = float(np.median(v))
    wheat, beet = ndvi["winter_soft_wheat"], ndvi[summer]
    assert 100 < max(wheat, key=wheat.get) < 175
    assert 170 < max(beet, key=beet.get) < 290
    assert np.mean([v for d, v in beet.items() if d < 90]) < 0.3
    assert np.mean([v for d, v in wheat.items() if 110 < d < 160]) > 0.8


def test_sentinel1_is_linear_backscatter(tiny_demo):
    catalog = pystac.Catalog.from_file(str(tiny_demo.catalog_path))
    catalog.make_all_asset_hrefs_absolute()
    item = next(catalog.get_child("sentinel-1-rtc").get_items())
    vv, vh = _read(item, "vv"), _read(item, "vh")
    assert item.properties["sar:polarizations"] == ["VV", "VH"]
    vv_db, vh_db = 10 * np.log10(np.median(vv)), 10 * np.log10(np.median(vh))
    assert -16 < vv_db < -5 and vh_db < vv_db - 4


def test_enmap_is_hyperspectral(tiny_demo):
    catalog = pystac.Catalog.from_file(str(tiny_demo.catalog_path))
    catalog.make_all_asset_hrefs_absolute()
    item = next(catalog.get_child("enmap-l2a").get_items())
    asset = item.assets["reflectance"]
    assert len(asset.to_dict()["eo:bands"]) == 224
    with rasterio.open(asset.href) as src:
        assert src.count == 224 and src.res == (30.0, 30.0)
        spectrum = src.read(window=((0, 4), (0, 4))).reshape(224, -1).mean(axis=1) * 1e-4
    centers = np.array([b["center_wavelength"] for b in asset.to_dict()["eo:bands"]])
    red = spectrum[np.abs(centers - 0.665).argmin()]
    nir = spectrum[np.abs(centers - 0.85).argmin()]
    assert 0 < red < nir < 0.7


def test_spec_validation():
    assert demo_spec("Chartres", 2023).zones == PROFILES["ci"]["zones"]
    with pytest.raises(ConfigError, match="Unknown demo profile 'huge'"):
        demo_spec("chartres", 2023, profile="huge")
    with pytest.raises(ConfigError, match="use a year from 2017 to 2030"):
        demo_spec("chartres", 1999)
    with pytest.raises(UnknownRegionError):
        demo_spec("atlantis", 2023)


def test_demo_json_records_what_was_built(tiny_demo):
    info = json.loads((tiny_demo.root / "demo.json").read_text())
    assert info["spec"]["zone_px"] == 64 and info["epsg"] == 32631
    assert info["parcels"] == len(tiny_demo.parcels())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"colour": "red"}, "Unknown demo settings \\['colour'\\]"),
        ({"zones": 3}, "must be two counts"),
        ({"zone_px": 10}, "zone_px=10 is out of range"),
        ({"seed": -1}, "non-negative integer"),
        ({"enmap_scenes": 40}, "between 0 and 12"),
    ],
)
def test_bad_demo_settings_are_explained(kwargs, message):
    seed = kwargs.pop("seed", 0)
    with pytest.raises(ConfigError, match=message):
        demo_spec("chartres", 2023, seed=seed, **kwargs)


def test_editing_a_table_changes_the_cache_key(tmp_path, monkeypatch):
    import shutil

    from cropkit.core.paths import data_dir

    before = demo_spec("riom", 2023).key
    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    crops = copy / "crops.csv"
    crops.write_text(
        crops.read_text().replace("winter_soft_wheat,winter,285", "winter_soft_wheat,winter,280")
    )
    monkeypatch.setenv("CROPKIT_DATA_DIR", str(copy))
    assert demo_spec("riom", 2023).key != before
