import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from cropkit import native
from cropkit.access.load import (
    SkippedItemsWarning,
    load_enmap,
    load_s1,
    load_s2,
    load_scl,
    usable_items,
)
from cropkit.access.providers import PROVIDERS
from cropkit.access.stac import StacSource, open_api
from cropkit.core.errors import DataError
from cropkit.core.regions import SceneGrid, get_region

pytestmark = pytest.mark.server

GRID = get_region("chartres").grid(64, (2, 1))


@pytest.fixture(scope="module")
def source(stac_server):
    return StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))


@pytest.fixture(scope="module")
def s2_items(source):
    return source.search("s2", GRID.lonlat_bounds(), 2023, max_cloud=100)


def _local(tiny_demo, item, name):
    with rasterio.open(tiny_demo.root / "sentinel-2-c1-l2a" / item.id / name) as src:
        return src.read(1)


def test_reflectance_is_dn_times_scale_plus_offset(source, s2_items, tiny_demo):
    cube = load_s2(s2_items[:3], source.provider, GRID)
    assert cube.dims == ("time", "band", "y", "x") and cube.shape == (3, 10, 64, 128)
    assert list(cube["band"].values[:3]) == ["B02", "B03", "B04"]
    dn = _local(tiny_demo, s2_items[0], "B04.tif").astype("float32")
    expected = np.where(dn == 0, np.nan, dn * np.float32(1e-4) - np.float32(0.1))
    np.testing.assert_allclose(cube.sel(band="B04").values[0], expected, rtol=1e-6, equal_nan=True)
    assert float(cube["x"][0]) == GRID.bounds[0] + 5  # pixel centres


def test_twenty_metre_bands_are_resampled_onto_the_10_m_grid(source, s2_items, tiny_demo):
    cube = load_s2(s2_items[:1], source.provider, GRID, bands=["B11"])
    dn20 = _local(tiny_demo, s2_items[0], "B11.tif").astype(float) * 1e-4 - 0.1
    got = cube.values[0, 0]
    assert got.shape == (64, 128)
    # block means agree with the 20 m pixels (bilinear keeps the mean)
    assert np.nanmean(got) == pytest.approx(np.mean(dn20[dn20 > -0.1]), rel=0.02)


def _doubled(cube) -> bool:
    """Whether the cube's graph doubles native 20 m reads (not GDAL's warp)."""
    return any("doubled_tile" in name for name in cube.data.__dask_graph__().layers)


def _native_and_warped(loader, source, items, monkeypatch, shift, chunks):
    """``loader``'s cube read natively and through GDAL's warp, on a 62 x 126 grid
    ``shift`` 10 m pixels off the demo's (on or half-way into its 20 m pixels)."""
    t = GRID.transform
    grid = SceneGrid(
        GRID.epsg, Affine(10, 0, t.c + 10 * shift, 0, -10, t.f - 10 * shift), (62, 126), ()
    )
    fast = loader(items, source.provider, grid, chunks=chunks)
    monkeypatch.setattr(native, "_native_window", lambda *args: None)  # GDAL warps them all
    return fast, loader(items, source.provider, grid, chunks=chunks)


@pytest.mark.parametrize("shift", [0, 1], ids=["on-20m-pixels", "half-way-into-them"])
@pytest.mark.parametrize("chunks", [32, 27])
def test_twenty_metre_bands_read_natively_equal_gdals_bilinear_warp(
    source, s2_items, monkeypatch, shift, chunks
):
    """Every band and date of the demo: read at 20 m and doubled (across chunk edges,
    tiles of even and odd sizes), the values are those of stackstac's bilinear warp to
    the 10 m grid, NaN for NaN."""
    items = s2_items[::3]
    fast, warped = _native_and_warped(load_s2, source, items, monkeypatch, shift, chunks)
    assert _doubled(fast) and not _doubled(warped)
    assert fast.data.chunks == warped.data.chunks
    # each tile is doubled from one native chunk: nothing is cut up and joined again
    assert not any("rechunk" in name for name in fast.data.__dask_graph__().layers)
    fast, warped = fast.values, warped.values
    assert 0.01 < np.isnan(warped).mean() < 0.9  # swath edges and nodata are compared too
    np.testing.assert_array_equal(fast, warped)


def test_scl_is_nearest_neighbour(source, s2_items, tiny_demo):
    scl = load_scl(s2_items[:1], source.provider, GRID).values[0]
    native = _local(tiny_demo, s2_items[0], "SCL.tif")
    np.testing.assert_array_equal(scl, np.kron(native, np.ones((2, 2), dtype=native.dtype)))


@pytest.mark.parametrize("shift", [0, 1], ids=["on-20m-pixels", "half-way-into-them"])
@pytest.mark.parametrize("chunks", [32, 27])
def test_scl_read_natively_equals_gdals_nearest_warp(source, s2_items, monkeypatch, shift, chunks):
    """The SCL read at 20 m and repeated onto the 10 m grid (tiles of even and odd
    sizes, on or half-way into the 20 m pixels, the grid partly off the files): the
    classes stackstac's nearest-neighbour warp gives, 0 where there is no data."""
    items = s2_items[::3]
    fast, warped = _native_and_warped(load_scl, source, items, monkeypatch, shift, chunks)
    layers = fast.data.__dask_graph__().layers
    assert any("nearest_tile" in name for name in layers) and fast.dtype == np.uint8
    assert fast.data.chunks == warped.data.chunks
    fast, warped = fast.values, warped.values
    assert (warped == 0).any() and len(np.unique(warped)) > 3
    np.testing.assert_array_equal(fast, warped)


def test_sentinel1_in_db_and_enmap_with_wavelengths(source):
    s1 = load_s1(source.search("s1", GRID.lonlat_bounds(), 2023)[:2], source.provider, GRID)
    assert list(s1["band"].values) == ["VV", "VH"] and s1.attrs["units"] == "dB"
    values = s1.values
    assert -25 < np.nanmedian(values[:, 0]) < -3 and np.nanmedian(values[:, 1]) < np.nanmedian(
        values[:, 0]
    )
    enmap = load_enmap(source.search("enmap", GRID.lonlat_bounds(), 2023), source.provider, GRID)
    assert enmap.sizes["band"] == 224 and enmap.shape[-2:] == (22, 43)
    assert float(enmap["wavelength"][0]) == pytest.approx(418.2)


def test_items_missing_an_asset_are_skipped_by_name(source, s2_items):
    broken = [it.clone() for it in s2_items[:3]]
    del broken[1].assets["red"]
    with pytest.warns(SkippedItemsWarning, match=f"Skipped 1 of 3 .*{broken[1].id}"):
        cube = load_s2(broken, source.provider, GRID, bands=["B04"])
    assert cube.sizes["time"] == 2
    with pytest.raises(DataError, match="None of the 1 items"):
        usable_items(broken[1:2], ["red"])


def test_an_unreadable_cog_becomes_nodata_with_a_warning(source, s2_items):
    broken = [it.clone() for it in s2_items[:2]]
    broken[0].assets["red"].href = broken[0].assets["red"].href.replace("B04.tif", "MISSING.tif")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        values = load_s2(broken, source.provider, GRID, bands=["B04"]).values
    assert np.isnan(values[0]).all() and np.isfinite(values[1]).any()


def test_items_in_another_crs_are_reprojected(source, s2_items):
    """The same UTM 31 items read onto a grid of the neighbouring UTM zone are warped."""
    t = Transformer.from_crs(32631, 32630, always_xy=True)
    x0, y0 = t.transform(GRID.bounds[0], GRID.bounds[3])
    other = SceneGrid(32630, Affine(10, 0, round(x0, -1), 0, -10, round(y0, -1)), (64, 128), ())
    cube = load_s2(s2_items[:1], source.provider, other, bands=["B08", "B11"])
    assert cube.attrs["crs"] == "EPSG:32630" and not _doubled(cube)  # 20 m: warped
    assert np.isfinite(cube.values).mean() > 0.9


def test_unreadable_cogs_can_be_skipped_and_counted_up_front(source, s2_items):
    broken = [it.clone() for it in s2_items[:3]]
    broken[2].assets["red"].href = broken[2].assets["red"].href.replace("B04.tif", "MISSING.tif")
    with pytest.warns(
        SkippedItemsWarning,
        match=f"Skipped 1 of 3 items with a COG that cannot be read: {broken[2].id}",
    ):
        kept = usable_items(broken, ["red", "nir"], check_readable=True)
    assert [it.id for it in kept] == [it.id for it in broken[:2]]


def test_a_cog_cut_short_with_its_header_intact_is_skipped_and_counted(
    source, s2_items, tiny_demo, tmp_path
):
    item = s2_items[1]
    original = tiny_demo.root / "sentinel-2-c1-l2a" / item.id / "B04.tif"
    cut = tmp_path / "B04.tif"
    data = original.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # a download or a disk that stopped
    with rasterio.open(cut) as src:  # the header still opens: a header check passes it
        assert src.width > 0
    broken = [it.clone() for it in s2_items[:3]]
    broken[1].assets["red"].href = str(cut)
    with pytest.warns(SkippedItemsWarning, match=f"Skipped 1 of 3 items .*: {item.id}"):
        kept = usable_items(broken, ["red", "nir"], check_readable=True)
    assert [it.id for it in kept] == [broken[0].id, broken[2].id]


def test_chunks_of_every_date_read_the_same_values_as_one_chunk_per_file(source, s2_items):
    items = s2_items[:6]
    whole = load_s2(items, source.provider, GRID, chunks=64)
    per_file = load_s2(items, source.provider, GRID, chunks=64, time_chunks=1)
    assert whole.data.chunks[0] == (6,) and per_file.data.chunks[0] == (1,) * 6
    np.testing.assert_array_equal(whole.values, per_file.values)
    np.testing.assert_array_equal(
        load_scl(items, source.provider, GRID).values,
        load_scl(items, source.provider, GRID, time_chunks=1).values,
    )


def test_one_date_of_a_masked_cube_is_read_from_its_own_files(source, s2_items):
    from cropkit.stages.masking import masked_s2

    s2 = masked_s2(source, s2_items[:5], GRID, buffer_px=1)
    when = s2.reflectance["time"].values[3] + np.timedelta64(2, "h")  # the nearest one
    one = s2.on_date(when)
    assert one.reflectance.sizes["time"] == 1 and one.items[0].id == s2.items[3].id
    np.testing.assert_array_equal(one.reflectance.values[0], s2.reflectance.values[3])
    np.testing.assert_array_equal(one.clear.values[0], s2.clear.values[3])
    assert one.clear.attrs == s2.clear.attrs == {"keep": [4, 5, 6, 7], "buffer_px": 1}


def test_each_file_is_opened_once_however_many_tiles_read_it(source, s2_items, monkeypatch):
    """The readers of a band's files are shared by its spatial tiles (one open per file)."""
    import collections

    import dask
    from stackstac.rio_reader import AutoParallelRioReader

    from cropkit import cloudmask, composite
    from cropkit.access.reader import AlignedReader

    opened = collections.Counter()
    for cls in (AutoParallelRioReader, AlignedReader):
        opener = cls.__dict__["_open"]

        def counted(reader, opener=opener):
            opened[reader.url] += 1
            return opener(reader)

        monkeypatch.setattr(cls, "_open", counted)
    items = s2_items[:6]
    cube = load_s2(items, source.provider, GRID, chunks=32)
    clear = cloudmask.clear_mask(load_scl(items, source.provider, GRID, chunks=32))
    assert cube.data.numblocks == (1, 10, 2, 4)  # 8 tiles of each band
    with dask.config.set(scheduler="threads", num_workers=2):
        composite.period_median(cube, "month", 2023, clear=clear).compute()
    assert len(opened) == 6 * 11  # every band and the SCL of each item
    assert set(opened.values()) == {1}
