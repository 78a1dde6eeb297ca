"""stackstac's COG reader, without GDAL's warper where a file's pixels are the grid's.

stackstac reads every asset through a ``WarpedVRT`` unless the file covers exactly the
output grid. A study area inside a Sentinel-2 tile, on the tile's own 10 m lattice (or
20 m, read natively), needs no warping at all: each output pixel *is* a file pixel, and
the warper only costs time (it also reads a margin of pixels around each window, and
with it the neighbouring internal blocks of the COG). :class:`AlignedReader` reads such
files with a plain window; every other file (another CRS, resolution or lattice) goes
through GDAL's warper as stackstac reads it, from the file already opened (each file is
opened once, whichever way it is read). The values are the same in both cases (tested
against the warped read of the demo, for nearest and bilinear resampling).
"""

from __future__ import annotations

import numpy as np
from rasterio.enums import MaskFlags
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window
from stackstac.rio_reader import (
    MULTITHREADED_DRIVER_ALLOWLIST,
    AutoParallelRioReader,
    SelfCleaningDatasetReader,
    SingleThreadedRioDataset,
    ThreadLocalRioDataset,
)

__all__ = ["AlignedReader", "pixel_offset"]


def pixel_offset(dataset_transform, dataset_epsg: int | None, spec) -> tuple[int, int] | None:
    """Where the output grid's first pixel lies in a file's pixels, if the two share a lattice.

    Parameters
    ----------
    dataset_transform : affine.Affine
        The file's geotransform.
    dataset_epsg : int or None
        The file's EPSG code.
    spec : stackstac.raster_spec.RasterSpec
        The output grid (``epsg``, ``transform``).

    Returns
    -------
    tuple of int or None
        ``(row, col)`` of the grid's top-left pixel in the file (negative when the grid
        starts before the file), or ``None`` when the file is in another CRS, at another
        resolution, rotated, or its pixels are not whole pixels away from the grid's.
    """
    t, g = dataset_transform, spec.transform
    if dataset_epsg != spec.epsg or (t.b, t.d, g.b, g.d) != (0, 0, 0, 0):
        return None
    if not (np.isclose(t.a, g.a, rtol=0, atol=1e-9) and np.isclose(t.e, g.e, rtol=0, atol=1e-9)):
        return None
    col, row = (g.c - t.c) / t.a, (g.f - t.f) / t.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return round(row), round(col)


class AlignedReader(AutoParallelRioReader):
    """:class:`stackstac.rio_reader.AutoParallelRioReader` reading aligned files as plain windows.

    Pass it as ``stackstac.stack(..., reader=AlignedReader)``. A file whose pixels lie on
    the output grid's lattice (same CRS and resolution, whole-pixel offset; see
    :func:`pixel_offset`) is read window by window from the file itself, the part of a
    window outside the file filled with the fill value; any other file is warped by
    stackstac as usual.
    """

    _offset: tuple[int, int] | None = None
    _size: tuple[int, int] = (0, 0)
    _plain: bool = False  # validity from the nodata value alone: no masked arrays needed
    _nodata: float | None = None

    def _open(self):
        self._offset = None
        try:
            with self.gdal_env.open:
                ds = SelfCleaningDatasetReader(self.url, sharing=False)
        except Exception:
            return super()._open()  # stackstac's own errors (or nodata, as asked)
        if ds.count != 1:
            ds.close()
            return super()._open()  # stackstac's error for several bands
        offset = pixel_offset(ds.transform, ds.crs.to_epsg() if ds.crs else None, self.spec)
        if offset is None:
            return self._warped(ds)
        self._offset, self._size = offset, (ds.height, ds.width)
        flags = ds.mask_flag_enums[0]
        self._nodata = ds.nodata
        self._plain = (flags == [MaskFlags.nodata] or flags == [MaskFlags.all_valid]) and (
            np.issubdtype(self.dtype, np.floating) or tuple(self.scale_offset) == (1, 0)
        )
        return self._threadsafe(ds)

    def _warped(self, ds: SelfCleaningDatasetReader):
        """The file already open, through GDAL's warper as stackstac reads it.

        What stackstac's own ``_open`` does after opening, without opening the file a
        second time: a ``WarpedVRT`` onto the output grid unless the file is the grid.
        """
        vrt = None
        if self.spec.vrt_params != {
            "crs": ds.crs.to_epsg() if ds.crs else None,
            "transform": ds.transform,
            "height": ds.height,
            "width": ds.width,
        }:
            with self.gdal_env.open_vrt:
                vrt = WarpedVRT(
                    ds,
                    sharing=False,
                    resampling=self.resampling,
                    add_alpha=ds.nodata is None,
                    **self.spec.vrt_params,
                )
        return self._threadsafe(ds, vrt)

    def _threadsafe(self, ds: SelfCleaningDatasetReader, vrt: WarpedVRT | None = None):
        """``ds`` (through ``vrt``, if any) for reading from every thread, as stackstac wraps it."""
        if ds.driver in MULTITHREADED_DRIVER_ALLOWLIST:
            return ThreadLocalRioDataset(self.gdal_env, ds, vrt=vrt)
        return SingleThreadedRioDataset(self.gdal_env, ds, vrt=vrt)

    def read(self, window: Window, **kwargs) -> np.ndarray:
        """``window`` of the output grid, ``(height, width)`` of ``dtype``, filled outside."""
        opened = self.dataset  # opening tells whether the file is on the grid's lattice
        if opened is None or self._offset is None:
            return super().read(window, **kwargs)
        row, col = self._offset
        height, width = self._size
        top, left = int(window.row_off) + row, int(window.col_off) + col
        # the part of the window inside the file (empty when the window misses it)
        r0, r1 = (int(v) for v in np.clip([top, top + window.height], 0, height))
        c0, c1 = (int(v) for v in np.clip([left, left + window.width], 0, width))
        if (r1 - r0, c1 - c0) == (window.height, window.width):
            return self._read_inside(opened, Window.from_slices((r0, r1), (c0, c1)), **kwargs)
        out = np.full((window.height, window.width), self.fill_value, dtype=self.dtype)
        if r1 > r0 and c1 > c0:
            inside = Window.from_slices((r0, r1), (c0, c1))
            out[r0 - top : r1 - top, c0 - left : c1 - left] = self._read_inside(
                opened, inside, **kwargs
            )
        return out

    def _read_inside(self, opened, window: Window, **kwargs) -> np.ndarray:
        """A window inside the file: scaled, nodata as the fill value.

        Without masked arrays where the nodata value alone marks invalid pixels (the
        same values as stackstac's masked read, in one array); stackstac's read
        otherwise, and for its handling of read errors.
        """
        if not self._plain or kwargs:
            return super().read(window, **kwargs)
        try:
            raw = opened.read(window, indexes=1)
        except Exception:
            return super().read(window)  # stackstac's errors (or nodata, as asked)
        nodata = self._nodata  # compared in the file's own type, as GDAL masks
        invalid = None if nodata is None else np.isnan(raw) if nodata != nodata else raw == nodata
        values = raw.astype(self.dtype)
        scale, offset = self.scale_offset
        if scale != 1:
            values *= values.dtype.type(scale)
        if offset != 0:
            values += values.dtype.type(offset)
        if invalid is not None:
            values[invalid] = self.fill_value
        return values
