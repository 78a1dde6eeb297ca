"""20 m bands doubled to 10 m: GDAL's bilinear values, without the warper."""

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

from cropkit.access.resample import bilinear_double, native_chunks, native_window, tile_crops

NAN = np.nan


def _row(values):
    """One row with a NaN margin above and below: the y weights renormalise to 1."""
    return np.array([[NAN] * len(values), values, [NAN] * len(values)], dtype=np.float32)


def test_each_half_weighs_its_own_pixel_three_quarters():
    doubled = bilinear_double(_row([NAN, 4, 8, NAN]))
    assert doubled.shape == (2, 4)
    # the outer halves have no neighbour on their side: their own value
    np.testing.assert_array_equal(doubled, [[4, 5, 7, 8], [4, 5, 7, 8]])


def test_rounds_half_up_as_the_warper_writes_integers():
    # 0.75 * 1 + 0.25 * 3 = 1.5 -> 2, 0.25 * 1 + 0.75 * 3 = 2.5 -> 3, 0.75 * 3 + 0.25 * 2
    # = 2.75 -> 3; and 0.75 * 2 + 0.25 * 1 = 1.75 -> 2, 0.75 * 1 + 0.25 * 2 = 1.25 -> 1
    np.testing.assert_array_equal(bilinear_double(_row([NAN, 1, 3, 2]))[0], [1, 2, 3, 3])
    np.testing.assert_array_equal(bilinear_double(_row([NAN, 2, 1, NAN]))[0], [2, 2, 1, 1])


def test_nodata_follows_the_own_pixel_and_drops_out_of_the_neighbours():
    doubled = bilinear_double(_row([8, NAN, 4, 12]))
    # the NaN pixel stays NaN though its neighbours are valid; 4's left half has no
    # valid neighbour on that side and keeps 4; its right half mixes in 12
    np.testing.assert_array_equal(doubled[0], [NAN, NAN, 4, 6])


def test_a_block_without_margin_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="one-pixel margin"):
        bilinear_double(np.ones((2, 5), dtype=np.float32))


@pytest.mark.parametrize("row, col", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_equals_gdal_bilinear_on_a_grid_at_any_phase(row, col):
    """A 20 m raster with nodata holes, warped by GDAL to a 10 m grid that starts on or
    half-way into a 20 m pixel, and doubled from the window native_window names."""
    rng = np.random.default_rng(row * 2 + col)
    native = rng.integers(1, 12000, (40, 50)).astype(np.uint16)
    native[rng.random(native.shape) < 0.1] = 0  # nodata
    x0, y0 = 500_000.0, 5_000_000.0
    src_transform = from_origin(x0, y0, 20, 20)
    # a 10 m grid inside the raster, `col` and `row` 10 m pixels off the 20 m lattice
    left, top = x0 + 100 + 10 * col, y0 - 60 - 10 * row
    height, width = 37, 45
    bounds = (left, top - 10 * height, left + 10 * width, top)
    gdal = np.zeros((height, width), dtype=np.uint16)
    crs = rasterio.crs.CRS.from_epsg(32631)
    reproject(
        native,
        gdal,
        src_transform=src_transform,
        src_crs=crs,
        src_nodata=0,
        dst_transform=from_origin(left, top, 10, 10),
        dst_crs=crs,
        dst_nodata=0,
        resampling=Resampling.bilinear,
    )
    window, (r, c) = native_window(bounds, (x0, y0), 10)
    i0, j0 = round((y0 - window[3]) / 20), round((window[0] - x0) / 20)
    i1, j1 = round((y0 - window[1]) / 20), round((window[2] - x0) / 20)
    values = np.where(native == 0, np.nan, native).astype(np.float32)[i0:i1, j0:j1]
    mine = bilinear_double(values)[r : r + height, c : c + width]
    expected = np.where(gdal == 0, np.nan, gdal).astype(np.float32)
    assert np.isnan(expected).mean() > 0.05  # the holes are there
    np.testing.assert_array_equal(mine, expected)


def test_the_window_reaches_one_native_pixel_past_the_grid():
    window, offset = native_window((100, 0, 180, 60), (0, 100), 10)
    assert window == (80, -20, 200, 80) and offset == (0, 0)
    window, offset = native_window((110, 10, 170, 50), (0, 100), 10)
    assert window == (80, -20, 200, 80) and offset == (1, 1)


def test_a_grid_off_the_native_pixels_is_left_to_the_warper():
    assert native_window((105, 0, 185, 60), (0, 100), 10) is None
    assert native_window((100, 0, 180, 60), (0, 97), 10) is None


def _renormalised_everywhere(native):
    """The kernel over zero-filled values divided by the kernel over the weights, at
    every pixel (what bilinear_double computes only along nodata)."""
    valid = np.isfinite(native)

    def kernel(grid):
        x = np.empty((*grid.shape[:-1], 2 * (grid.shape[-1] - 2)), np.float32)
        x[..., 0::2] = grid[..., :-2] * np.float32(0.25) + grid[..., 1:-1] * np.float32(0.75)
        x[..., 1::2] = grid[..., 2:] * np.float32(0.25) + grid[..., 1:-1] * np.float32(0.75)
        y = np.empty((*x.shape[:-2], 2 * (x.shape[-2] - 2), x.shape[-1]), np.float32)
        y[..., 0::2, :] = x[..., :-2, :] * np.float32(0.25) + x[..., 1:-1, :] * np.float32(0.75)
        y[..., 1::2, :] = x[..., 2:, :] * np.float32(0.25) + x[..., 1:-1, :] * np.float32(0.75)
        return y

    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.floor(
            kernel(np.where(valid, native, 0).astype(np.float32)) / kernel(valid.astype(np.float32))
            + np.float32(0.5)
        )
    own = valid[..., 1:-1, 1:-1].repeat(2, axis=-2).repeat(2, axis=-1)
    return np.where(own, out, np.nan)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(3, 9), st.integers(3, 9)),
    nodata=st.sampled_from([0.0, 0.05, 0.3, 0.8, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_renormalises_exactly_along_any_nodata_pattern(shape, nodata, seed):
    rng = np.random.default_rng(seed)
    native = rng.integers(0, 2**16, shape).astype(np.float32)
    native[rng.random(shape) < nodata] = np.nan
    np.testing.assert_array_equal(bilinear_double(native), _renormalised_everywhere(native))


@pytest.mark.parametrize("offset", [0, 1])
def test_native_chunks_put_each_fine_tile_inside_its_own_doubled_chunk(offset):
    # a 10 m axis of 1100 pixels in 512-pixel tiles, on or half-way into a 20 m pixel
    fine = (512, 512, 76)
    size = (1100 + offset + 1) // 2 + 2  # native pixels under the grid, one of margin each side
    chunks = native_chunks(fine, offset, size)
    assert len(chunks) == 3 and sum(chunks) == size
    assert chunks[:2] == (257, 256)  # the margin, then the 20 m pixels under each tile
    crops = tile_crops(fine, offset, chunks)
    overlapped = [chunks[0] + 2, chunks[1] + 4, chunks[2] + 2]  # two pixels from each neighbour
    for crop, tile, length in zip(crops, fine, overlapped):
        assert 0 <= crop and crop + tile <= 2 * (length - 2)  # inside the doubled block
    assert crops == (offset, offset + 2, offset + 2)
