import numpy as np
import pytest
import stackstac
from affine import Affine
from rasterio.enums import Resampling
from stackstac.rio_reader import AutoParallelRioReader

from cropkit.access.providers import PROVIDERS
from cropkit.access.reader import AlignedReader, pixel_offset
from cropkit.access.stac import StacSource, open_api
from cropkit.core.regions import SceneGrid, get_region

GRID = get_region("chartres").grid(64, (2, 1))


class _Spec:
    def __init__(self, epsg, transform):
        self.epsg, self.transform = epsg, transform


@pytest.mark.parametrize(
    "transform, epsg, expected",
    [
        (Affine(10, 0, 1000, 0, -10, 5000), 32631, (0, 0)),
        (Affine(10, 0, 960, 0, -10, 5030), 32631, (3, 4)),  # the grid starts inside the file
        (Affine(10, 0, 1020, 0, -10, 4980), 32631, (-2, -2)),  # before it
        (Affine(10, 0, 1005, 0, -10, 5000), 32631, None),  # half a pixel off the lattice
        (Affine(20, 0, 1000, 0, -20, 5000), 32631, None),  # another resolution
        (Affine(10, 0, 1000, 0, -10, 5000), 32632, None),  # another CRS
    ],
)
def test_pixel_offset_only_for_files_on_the_grids_lattice(transform, epsg, expected):
    spec = _Spec(32631, Affine(10, 0, 1000, 0, -10, 5000))
    assert pixel_offset(transform, epsg, spec) == expected


@pytest.fixture(scope="module")
def items(stac_server):
    source = StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))
    found = source.search("s2", GRID.lonlat_bounds(), 2023, max_cloud=100)[::4]
    return [it.to_dict(transform_hrefs=False) for it in found]


@pytest.mark.server
@pytest.mark.parametrize(
    "resampling, rescale",
    [(Resampling.nearest, False), (Resampling.bilinear, False), (Resampling.nearest, True)],
)
@pytest.mark.parametrize(
    "shift",
    [(0, 0), (-30, 40), (5, 0)],
    ids=["on-the-files", "partly-outside-them", "off-their-lattice"],
)
def test_reads_what_stackstacs_warped_reader_reads(items, resampling, rescale, shift, monkeypatch):
    """10 m bands and the 20 m SCL, on the files' grid, shifted partly off the files (the
    part outside is the fill value) and off their lattice (warped as before), scaled by
    their raster:bands or not: the same values as stackstac's own reader, which warps
    every file and masks with masked arrays; each file opened once either way."""
    warped, reopened = [], []
    warp, reopen = AlignedReader._warped, AutoParallelRioReader._open

    def recording(reader, ds):
        warped.append(reader.url.rsplit("/", 1)[1])
        return warp(reader, ds)

    def second_open(reader):
        reopened.append(reader.url)
        return reopen(reader)

    monkeypatch.setattr(AlignedReader, "_warped", recording)
    monkeypatch.setattr(AutoParallelRioReader, "_open", second_open)
    dx, dy = shift
    t = GRID.transform
    grid = SceneGrid(GRID.epsg, Affine(10, 0, t.c + dx, 0, -10, t.f + dy), (60, 120), ())
    common = dict(
        assets=["red", "nir", "scl"],  # the demo names them as Earth Search
        epsg=grid.epsg,
        resolution=10,
        bounds=grid.bounds,
        snap_bounds=False,
        resampling=resampling,
        dtype="float64" if rescale else "float32",  # the items' scales are Python floats
        fill_value=np.float64(np.nan) if rescale else np.float32(np.nan),
        rescale=rescale,
        chunksize=(-1, 1, 32, 32),
    )
    ours = stackstac.stack(items, reader=AlignedReader, **common).values
    # only the 20 m SCL, and every file off the lattice, went through the warper
    on_lattice = shift != (5, 0)
    assert set(warped) == ({"SCL.tif"} if on_lattice else {"B04.tif", "B08.tif", "SCL.tif"})
    assert reopened == []  # the warped files too were opened by AlignedReader alone
    theirs = stackstac.stack(items, reader=AutoParallelRioReader, **common).values
    assert np.isnan(theirs).mean() < 0.9 and (np.isnan(theirs).any() or shift == (0, 0))
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.server
def test_a_window_that_misses_the_file_is_all_fill(items):
    """Windows above, left of, below and right of a file on the grid's lattice: all fill,
    no read (stackstac reads whenever the item's box, larger than the file, meets it)."""
    from rasterio.windows import Window
    from stackstac.raster_spec import RasterSpec

    href = items[0]["assets"]["red"]["href"]
    left, bottom, right, top = GRID.bounds
    spec = RasterSpec(epsg=GRID.epsg, bounds=(left, bottom, right, top), resolutions_xy=(10, 10))
    reader = AlignedReader(
        url=href,
        spec=spec,
        resampling=Resampling.nearest,
        dtype=np.dtype("float32"),
        fill_value=np.float32(-1),
        scale_offset=(1, 0),
    )
    for row, col in [(-50, 0), (0, -50), (-50, -50), (200, 0), (0, 300)]:
        out = reader.read(Window(col, row, 40, 30))
        assert out.shape == (30, 40) and (out == -1).all()
    inside = reader.read(Window(0, 0, 40, 30))
    assert reader._offset == (0, 0) and (inside != -1).any()
