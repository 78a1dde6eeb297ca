"""Loading provider items as they are published: order, coverage, offsets.

Each item is one of the provider fixtures (``tests/fixtures``) with its assets pointed at
small local GeoTIFFs on a test grid, so stackstac reads real files through the provider's
own schema. Every date's true reflectance is the same, so any item given another item's
scale or offset shows up as a wrong value.
"""

import copy
import datetime as dt
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

from cropkit.access.load import (
    SkippedItemsWarning,
    load_s2,
    load_scl,
)
from cropkit.access.providers import get_provider
from cropkit.access.reflectance_check import SuspectReflectanceWarning, check_reflectance
from cropkit.compute.cloudmask import apply_mask
from cropkit.core.errors import DataError, GridMismatchError
from cropkit.core.regions import get_region

FIXTURES = Path(__file__).parent / "fixtures"
GRID = get_region("chartres").grid(32, (1, 1))
#: True reflectance of the test scene: clear vegetation.
TRUE = {"B02": 0.04, "B04": 0.03, "B08": 0.30}
BANDS = tuple(TRUE)


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _write(path: Path, values: np.ndarray, transform: Affine) -> None:
    profile = dict(
        driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
        dtype=values.dtype, crs=f"EPSG:{GRID.epsg}", transform=transform, nodata=0,
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)


def provider_item(
    tmp: Path,
    fixture: str,
    provider: str,
    day: str,
    baseline: str,
    dn_offset: int,
    shift_km: float = 0.0,
    flag: bool | None = None,
) -> dict:
    """A fixture item dated ``day`` whose pixels carry ``dn_offset`` on top of 10000 * TRUE."""
    item = copy.deepcopy(_fixture(fixture))
    p = get_provider(provider)
    item["id"] = f"{item['id']}-{day}-{shift_km:g}"
    item["properties"]["datetime"] = f"{day}T10:56:29Z"
    item["properties"]["s2:processing_baseline"] = baseline
    if flag is not None:
        item["properties"]["earthsearch:boa_offset_applied"] = flag
    x0, y0 = GRID.transform.c + 1000 * shift_km, GRID.transform.f
    transform = Affine(10, 0, x0, 0, -10, y0)
    h, w = GRID.shape
    wanted = {p.asset_key("s2", b): b for b in (*BANDS, "SCL")}
    item["assets"] = {k: a for k, a in item["assets"].items() if k in wanted}
    for key, asset in item["assets"].items():
        band = wanted[key]
        if band == "SCL":
            values = np.full((h, w), 4, np.uint16)
        else:
            values = np.full((h, w), round(10000 * TRUE[band]) + dn_offset, np.uint16)
        path = tmp / f"{item['id']}_{key}.tif"
        _write(path, values, transform)
        asset["href"] = str(path)
        asset.update({"proj:shape": [h, w], "proj:transform": list(transform)[:6]})
        asset["proj:bbox"] = [x0, y0 - 10 * h, x0 + 10 * w, y0]
        for rb in asset.get("raster:bands", []):
            if "offset" in rb:  # as published: -0.1 from baseline 04.00 on
                rb["offset"] = -0.1 if float(baseline) >= 4 else 0.0
    lon0, lat0, lon1, lat1 = GRID.lonlat_bounds()
    dlon = shift_km / 73.0  # ~73 km per degree of longitude at 48.4 N
    item["bbox"] = [lon0 + dlon, lat0, lon1 + dlon, lat1]
    item["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[lon0 + dlon, lat0], [lon1 + dlon, lat0], [lon1 + dlon, lat1],
                         [lon0 + dlon, lat1], [lon0 + dlon, lat0]]],
    }  # fmt: skip
    return item


# (provider, fixture per baseline) in each provider's published schema
LAYOUTS = {
    "earth-search": {
        "03.00": "earth_search_s2_l2a_baseline0300.json",
        "05.09": "earth_search_s2_c1_l2a_baseline0509.json",
    },
    "planetary-computer": {
        "03.00": "planetary_computer_s2_l2a_baseline0300.json",
        "05.09": "planetary_computer_s2_l2a_baseline0509.json",
    },
}


def _series(tmp_path, provider, with_off_area=False):
    """Newest first, as STAC APIs return them: two baselines, an optional item off the area."""
    fx = LAYOUTS[provider]
    items = [
        provider_item(tmp_path, fx["05.09"], provider, "2023-06-04", "05.09", 1000),
        provider_item(tmp_path, fx["05.09"], provider, "2022-06-04", "05.09", 1000),
        provider_item(tmp_path, fx["03.00"], provider, "2021-06-10", "03.00", 0),
    ]
    if with_off_area:
        off = provider_item(tmp_path, fx["03.00"], provider, "2022-01-10", "03.00", 0, 50.0)
        items.insert(1, off)
    return items


@pytest.mark.parametrize("provider", sorted(LAYOUTS))
def test_newest_first_items_each_get_their_own_offset(tmp_path, provider):
    cube = load_s2(_series(tmp_path, provider), get_provider(provider), GRID, bands=BANDS)
    assert list(cube["time"].dt.year.values) == [2021, 2022, 2023]
    for band, value in TRUE.items():
        np.testing.assert_allclose(cube.sel(band=band).values, value, atol=1e-6)


@pytest.mark.parametrize("provider", sorted(LAYOUTS))
def test_an_item_off_the_area_is_dropped_and_counted(tmp_path, provider):
    items = _series(tmp_path, provider, with_off_area=True)
    with pytest.warns(SkippedItemsWarning, match="Skipped 1 of 4 items that do not reach") as w:
        cube = load_s2(items, get_provider(provider), GRID, bands=BANDS)
    assert items[1]["id"] in str(w[0].message)
    assert cube.sizes["time"] == 3
    np.testing.assert_allclose(cube.sel(band="B08").values, 0.30, atol=1e-6)
    scl = load_scl(items, get_provider(provider), GRID)
    assert list(scl["id"].values) == list(cube["id"].values)


def test_no_item_on_the_area_is_a_clear_error(tmp_path):
    fx = LAYOUTS["earth-search"]["05.09"]
    items = [provider_item(tmp_path, fx, "earth-search", "2023-06-04", "05.09", 1000, 50.0)]
    with pytest.raises(DataError, match="None of the 1 items reaches the study area"):
        load_s2(items, get_provider("earth-search"), GRID, bands=BANDS)


def test_old_earth_search_honours_the_offset_flag_and_the_data_check_catches_a_wrong_one(
    tmp_path,
):
    fx = "earth_search_s2_l2a_baseline0509.json"
    es = "earth-search-l2a"
    items = [
        provider_item(tmp_path, fx, es, "2022-03-01", "04.00", 1000, flag=False),  # right
        provider_item(tmp_path, fx, es, "2022-04-01", "04.00", 0, flag=True),  # right
        provider_item(tmp_path, fx, es, "2022-05-01", "04.00", 0, flag=False),  # wrong flag
    ]
    cube = load_s2(items, get_provider(es), GRID, bands=BANDS)
    np.testing.assert_allclose(cube.sel(band="B08").values[:2], 0.30, atol=1e-6)
    np.testing.assert_allclose(cube.sel(band="B08").values[2], 0.20, atol=1e-6)
    scl = load_scl(items, get_provider(es), GRID)
    with pytest.warns(SuspectReflectanceWarning, match="1 of 3 dates .* mostly negative") as w:
        table = check_reflectance(cube, scl, stride=2)
    assert items[2]["id"] in str(w[0].message)
    assert table["verdict"].tolist() == ["ok", "ok", "too dark"]
    assert table["blue"].round(3).tolist() == [0.04, 0.04, -0.06]


def test_a_missing_offset_is_reported_too_bright(tmp_path):
    pc = "planetary-computer"
    item = provider_item(tmp_path, LAYOUTS[pc]["03.00"], pc, "2022-03-01", "03.00", 1000)
    cube = load_s2([item], get_provider(pc), GRID, bands=BANDS)  # baseline says no offset
    with pytest.warns(SuspectReflectanceWarning, match="0.1 too bright"):
        assert check_reflectance(cube, load_scl([item], get_provider(pc), GRID), stride=2)[
            "verdict"
        ].tolist() == ["too bright"]


def test_a_clean_series_raises_no_warning(tmp_path):
    items = _series(tmp_path, "earth-search")
    cube = load_s2(items, get_provider("earth-search"), GRID, bands=BANDS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scl = load_scl(items, get_provider("earth-search"), GRID)
        table = check_reflectance(cube, scl, stride=2)
    assert (table["verdict"] == "ok").all() and (table["vegetation_px"] == 256).all()


def test_a_mask_on_another_grid_is_a_clear_error():
    t = np.array(["2023-06-04"], dtype="datetime64[ns]")
    cube = xr.DataArray(
        np.ones((1, 1, 4, 4)), dims=("time", "band", "y", "x"),
        coords={"time": t, "y": 5 - 10.0 * np.arange(4), "x": 5 + 10.0 * np.arange(4)},
    )  # fmt: skip
    scl20 = xr.DataArray(
        np.ones((1, 2, 2), bool), dims=("time", "y", "x"),
        coords={"time": t, "y": 10 - 20.0 * np.arange(2), "x": 10 + 20.0 * np.arange(2)},
    )  # fmt: skip
    with pytest.raises(GridMismatchError, match="not on the cube's pixel grid.*load_scl"):
        apply_mask(cube, scl20)
    shifted = cube.isel(band=0, drop=True).assign_coords(x=cube["x"] + 10) > 0
    with pytest.raises(GridMismatchError, match="interp_like"):
        apply_mask(cube, shifted)
    assert apply_mask(cube, cube.isel(band=0, drop=True) > 0).count() == 16


def test_item_dates_are_read_in_utc(tmp_path):
    item = provider_item(
        tmp_path, LAYOUTS["earth-search"]["05.09"], "earth-search", "2023-06-04", "05.09", 1000
    )
    cube = load_s2([item], get_provider("earth-search"), GRID, bands=BANDS)
    assert cube["time"].values[0] == np.datetime64(dt.datetime(2023, 6, 4, 10, 56, 29))
