"""The HTTP floor of ``benchmarks/bench_pipeline.py`` reads the bytes and pixels cropkit reads."""

import sys
from pathlib import Path

import numpy as np
import pytest

from cropkit.access.load import S2_BAND_NAMES, by_time, load_s2, load_scl
from cropkit.access.providers import PROVIDERS, reflectance_scale_offset
from cropkit.access.stac import StacSource, open_api
from cropkit.core.regions import get_region

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _http_floor import HEADER_BYTES, read_windows, tile_runs  # noqa: E402
from bench_pipeline import read_windows_of  # noqa: E402

GRID = get_region("chartres").grid(64, (2, 1))


def test_tile_runs_join_tiles_next_to_each_other_in_the_file():
    offsets, counts = [100, 208, 300, 400, 5000], [100, 50, 50, 50, 50]
    assert tile_runs([0, 1, 4], offsets, counts) == [[0, 1], [4]]
    assert tile_runs([3, 2], offsets, counts) == [[2, 3]]  # by offset, 50 bytes apart
    assert tile_runs([0, 2], offsets, counts, gap=0) == [[0], [2]]


@pytest.fixture(scope="module")
def season(stac_server):
    provider = PROVIDERS["demo"]
    source = StacSource(stac_server.url, provider, open_api(stac_server.url))
    items = source.search("s2", GRID.lonlat_bounds(), 2023, max_cloud=100)[::6]
    keys = [provider.asset_key("s2", b) for b in (*S2_BAND_NAMES, "SCL")]
    return items, keys, provider


@pytest.mark.server
def test_the_floor_reads_the_pixels_cropkit_reads(season, stac_server):
    items, keys, provider = season
    reads = read_windows_of(items, keys, GRID)
    pixels, made, received = read_windows(reads, in_flight=2)
    by_file = {url: px for (url, _), px in zip(reads, pixels)}
    cube = load_s2(items, provider, GRID).compute()
    scl = load_scl(items, provider, GRID).compute()
    for t, item in enumerate(by_time(items)):  # the cube's order
        for band in ("B02", "B04", "B08"):  # 10 m: the grid's own window
            dn = by_file[item.assets[provider.asset_key("s2", band)].href]
            scale, offset = (np.float32(v) for v in reflectance_scale_offset(item, band, provider))
            expected = np.where(dn == 0, np.nan, dn.astype("float32") * scale + offset)
            np.testing.assert_array_equal(cube.sel(band=band).values[t], expected)
        # the 20 m SCL, each pixel doubled (the margin of one pixel that the 20 m reads
        # take lies outside these files, which cover the grid exactly)
        native = by_file[item.assets[provider.asset_key("s2", "SCL")].href]
        assert native.shape == (GRID.shape[0] // 2, GRID.shape[1] // 2)
        doubled = native.repeat(2, axis=0).repeat(2, axis=1)
        np.testing.assert_array_equal(scl.values[t], doubled)
    # the bytes: each of these small files whole, in one request (its header's): no HEAD,
    # no second request for the tiles
    sizes = [
        (stac_server.files_root / url.split("/files/", 1)[1]).stat().st_size for url, _ in reads
    ]
    assert all(size < HEADER_BYTES for size in sizes)
    assert (made, received) == (len(reads), sum(sizes))


@pytest.mark.server
def test_the_floor_fetches_each_run_of_tiles_once_beyond_the_header(stac_server):
    import rasterio
    from affine import Affine

    values = np.random.default_rng(0).integers(1, 10000, (600, 700), dtype="uint16")
    folder = stac_server.files_root / "test-http-floor"
    folder.mkdir(exist_ok=True)
    profile = dict(driver="COG", compress="DEFLATE", predictor=2, blocksize=256)
    with rasterio.open(
        folder / "big.tif", "w", **profile, width=700, height=600, count=1, dtype="uint16",
        crs="EPSG:32631", transform=Affine(10, 0, 500000, 0, -10, 5000000),
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    url = f"{stac_server.url}/files/test-http-floor/big.tif"
    window = ((100, 550), (300, 690))  # tile rows 0-2, tile columns 1-2 of 3
    (pixels,), made, received = read_windows([(url, window)], in_flight=1)
    np.testing.assert_array_equal(pixels, values[100:550, 300:690])
    assert made == 1 + 3  # the header, then one run of two tiles per tile row
    assert HEADER_BYTES < received < (folder / "big.tif").stat().st_size + HEADER_BYTES
