"""Study areas: a demo region, or any area of interest (a bbox or a vector file).

An area of interest (AOI) gets the UTM zone that holds most of it (or the EPSG code the
user gives), a 10 m grid snapped to 60 m so that the 10, 20, 30 and 60 m grids of
Sentinel-2 and EnMAP align, and square zones of ``zone_km`` that tile it for the spatial
hold-out.

Examples
--------
>>> area = aoi_area([1.45, 48.40, 1.50, 48.43], zone_km=1.2)
>>> area.grid.epsg, area.grid.shape, len(area.grid.zones)
(32631, (360, 480), 12)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping

from .errors import ConfigError, DataError
from .regions import PIXEL_M, SNAP_M, Region, SceneGrid, tiled_grid

__all__ = [
    "normalize_bbox",
    "StudyArea",
    "LargeAreaWarning",
    "read_aoi",
    "utm_epsg",
    "aoi_area",
    "region_area",
    "PROFILES",
]

#: Named sizes of a demo region's study area (zones of ``zone_px`` pixels).
PROFILES = {
    "ci": {"zone_px": 256, "zones": (2, 1)},
    "full": {"zone_px": 512, "zones": (2, 2)},
    "large": {"zone_px": 2048, "zones": (1, 1)},
}
#: Largest side of a study area (10 m pixels): 300 km, about three Sentinel-2 tiles.
MAX_SIDE_PX = 30_000
#: Bytes per pixel of a run's largest array: the Sentinel-2 composite (12 months x 10
#: bands float32) plus its counts and flags.
COMPOSITE_BYTES_PER_PX = 12 * (10 * 4 + 2 + 1)


class LargeAreaWarning(UserWarning):
    """The study area's composites may not fit in this machine's memory at once."""


@dataclass(frozen=True)
class StudyArea:
    """Where a run maps: its grid, its name and the demo region it lies in (if any).

    Attributes
    ----------
    name : str
        Region id, or ``aoi-<digest>`` for an area of interest.
    grid : SceneGrid
        The 10 m UTM grid and its zones.
    outline : shapely.Geometry
        The area as given, in WGS84 longitude/latitude.
    region : Region or None
        The demo region of a region run, ``None`` for an AOI.
    epsg_note : str
        How the CRS was chosen (for the run's summary).
    """

    name: str
    grid: SceneGrid
    outline: shapely.Geometry
    region: Region | None = None
    epsg_note: str = ""

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The grid as ``(west, south, east, north)`` in degrees."""
        return self.grid.lonlat_bounds()

    def memory_estimate(self) -> float:
        """Bytes of the Sentinel-2 composites of the whole area (12 periods)."""
        h, w = self.grid.shape
        return float(h) * w * COMPOSITE_BYTES_PER_PX


def normalize_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Check a ``(west, south, east, north)`` box in degrees and return it as floats.

    Raises
    ------
    ConfigError
        If it does not have four numbers, is outside -180..180 / -90..90, or has
        west >= east or south >= north (a swapped box).
    """
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"bbox must be four numbers (west, south, east, north), not {bbox!r}."
        ) from err
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise ConfigError(
            f"bbox {bbox!r} is outside longitude -180..180 / latitude -90..90; is it in degrees?"
        )
    if w > e and s < n and w > 90 and e < -90:  # west in the east: over the antimeridian
        raise ConfigError(
            f"bbox {bbox!r} crosses the antimeridian (west {w:g} is east of east {e:g}), which "
            f"cropkit does not support: split it at 180 degrees into ({w:g}, {s:g}, 180, "
            f"{n:g}) and (-180, {s:g}, {e:g}, {n:g}) and run each as its own area."
        )
    if w >= e or s >= n:
        raise ConfigError(
            f"bbox {bbox!r} is empty or swapped: expected (west, south, east, north) "
            "with west < east and south < north."
        )
    return (w, s, e, n)


def read_aoi(aoi: str | Sequence[float] | shapely.Geometry) -> shapely.Geometry:
    """An area of interest as one WGS84 geometry.

    Parameters
    ----------
    aoi : str, sequence of float or shapely geometry
        ``(west, south, east, north)`` in degrees (a list, or a string ``"w,s,e,n"``), or
        the path of a vector file GeoPandas reads (GeoJSON, GeoPackage, Shapefile,
        GeoParquet), in any CRS; all its features together make the area.

    Raises
    ------
    ConfigError
        For a malformed or swapped box, a missing file, or a file without polygons.
    """
    if isinstance(aoi, shapely.Geometry):
        return aoi
    if isinstance(aoi, str) and re.fullmatch(r"\s*[-+.\d\s]+(,[-+.\d\s]+){3}", aoi):
        aoi = aoi.split(",")
    if isinstance(aoi, (list, tuple)):
        return box(*normalize_bbox(aoi))
    path = Path(os.path.expanduser(str(aoi)))
    if not path.exists():
        raise ConfigError(
            f"aoi={aoi!r} is neither a bbox (west, south, east, north in degrees) nor an "
            "existing vector file; give four numbers or the path of a GeoJSON/GeoPackage file."
        )
    import geopandas as gpd

    try:
        frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    except Exception as err:  # noqa: BLE001  (any reader error: say which file)
        raise ConfigError(f"Could not read the AOI file {path}: {err}") from err
    polygons = frame[frame.geometry.notna() & frame.geom_type.str.contains("Polygon")]
    if polygons.empty:
        raise ConfigError(f"The AOI file {path} holds no polygon; draw the area as a polygon.")
    if polygons.crs is None:
        raise ConfigError(f"The AOI file {path} has no CRS; save it with one (e.g. EPSG:4326).")
    return shapely.union_all(polygons.to_crs(4326).geometry.to_numpy())


def utm_epsg(outline: shapely.Geometry) -> tuple[int, float]:
    """The UTM zone that holds most of the area, and the share of the area it holds.

    Returns
    -------
    tuple
        ``(epsg, share)``: ``326zz`` north of the equator, ``327zz`` south of it.
    """
    west, south, east, north = outline.bounds
    zones = range(int(np.floor((west + 180) / 6)), int(np.floor((east + 180) / 6)) + 1)
    shares = {}
    for z in zones:
        strip = box(-180 + 6 * z, -90, -174 + 6 * z, 90)
        shares[z % 60 + 1] = outline.intersection(strip).area / max(outline.area, 1e-12)
    zone = max(shares, key=shares.get)
    lat = outline.centroid.y
    return (32600 if lat >= 0 else 32700) + zone, float(shares[zone])


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:8]


def aoi_area(
    aoi: str | Sequence[float] | shapely.Geometry,
    zone_km: float = 5.12,
    epsg: int | None = None,
) -> StudyArea:
    """Lay a 10 m grid and its zones over an area of interest.

    Parameters
    ----------
    aoi : str, sequence of float or shapely geometry
        See :func:`read_aoi`.
    zone_km : float
        Side of one hold-out zone (km), 0.32 to 100; rounded to the 60 m lattice.
    epsg : int, optional
        CRS of the grid (a UTM code); by default the UTM zone holding most of the area.

    Returns
    -------
    StudyArea
        The grid covers the AOI's bounding box, rounded out to whole zones.

    Raises
    ------
    ConfigError
        For a bad ``zone_km`` or ``epsg``, or an area larger than 300 km on a side.
    """
    outline = read_aoi(aoi)
    try:
        zone_km = float(zone_km)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"zone_km must be a number of kilometres, not {zone_km!r}.") from err
    if not 0.32 <= zone_km <= 100:
        raise ConfigError(f"zone_km={zone_km:g} is out of range; use 0.32 to 100 km.")
    if epsg is None:
        epsg, share = utm_epsg(outline)
        note = f"UTM zone {epsg % 100}, which holds {100 * share:.0f} % of the area"
        if share < 0.999:
            note += " (the area crosses a zone boundary: pass epsg= to choose another)"
    else:
        epsg = int(epsg)
        if not (32601 <= epsg <= 32660 or 32701 <= epsg <= 32760):
            raise ConfigError(
                f"epsg={epsg} is not a WGS84 / UTM code (32601-32660 north, 32701-32760 south)."
            )
        note = f"EPSG:{epsg}, as asked"
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    xmin, ymin, xmax, ymax = to_utm.transform_bounds(*outline.bounds)
    zone_m = max(SNAP_M, int(round(zone_km * 1000 / SNAP_M)) * SNAP_M)
    x0 = np.floor(xmin / SNAP_M) * SNAP_M
    y0 = np.ceil(ymax / SNAP_M) * SNAP_M
    nx = max(1, int(np.ceil((xmax - x0) / zone_m)))
    ny = max(1, int(np.ceil((y0 - ymin) / zone_m)))
    zone_px = zone_m // PIXEL_M
    if max(nx, ny) * zone_px > MAX_SIDE_PX:
        raise ConfigError(
            f"The AOI spans {nx * zone_m / 1000:.0f} x {ny * zone_m / 1000:.0f} km: larger than "
            f"{MAX_SIDE_PX * PIXEL_M // 1000} km on a side. Map it as several runs (one AOI "
            "each), e.g. one per department."
        )
    grid = tiled_grid(epsg, float(x0), float(y0), int(zone_px), nx, ny)
    name = "aoi-" + _digest(mapping(outline), epsg, zone_m)
    area = StudyArea(name, grid, outline, None, note)
    _warn_if_large(area)
    return area


def _warn_if_large(area: StudyArea) -> None:
    try:
        import psutil

        available = psutil.virtual_memory().available
    except ImportError:  # pragma: no cover - psutil comes with dask distributed
        return
    need = area.memory_estimate()
    if need > 0.5 * available:
        h, w = area.grid.shape
        warnings.warn(
            f"The study area is {w} x {h} px: its composites take about {need / 1e9:.3g} GB, "
            f"more than half of the {available / 1e9:.3g} GB free here. cropkit computes it "
            "chunk by chunk with dask: give the notebooks a `scheduler` address (a Dask "
            "cluster with more memory), or split the area into several runs.",
            LargeAreaWarning,
            stacklevel=3,
        )


def region_area(region: Region, profile: str = "ci") -> StudyArea:
    """The study area of a demo region for a size ``profile`` (see :data:`PROFILES`).

    Raises
    ------
    ConfigError
        For an unknown profile.
    """
    if profile not in PROFILES:
        raise ConfigError(f"Unknown profile {profile!r}; choose one of {sorted(PROFILES)}.")
    layout = PROFILES[profile]
    grid = region.grid(layout["zone_px"], layout["zones"])
    return StudyArea(
        region.region_id,
        grid,
        box(*grid.lonlat_bounds()),
        region,
        f"UTM zone {region.epsg % 100} (the region's)",
    )


def clip_to(area: StudyArea, outer: SceneGrid, what: str) -> None:
    """Check that ``area`` lies on and within ``outer`` (a demo's simulated grid).

    Raises
    ------
    DataError
        If the CRS differs or the area reaches beyond ``outer``; the message names
        ``what`` and its extent.
    """
    a, o = area.grid.bounds, outer.bounds
    inside = a[0] >= o[0] and a[1] >= o[1] and a[2] <= o[2] and a[3] <= o[3]
    if area.grid.epsg != outer.epsg or not inside:
        w, s, e, n = outer.lonlat_bounds()
        raise DataError(
            f"The AOI's grid {tuple(round(v) for v in a)} (EPSG:{area.grid.epsg}) is not within "
            f"{what}, which covers {w:.4f}, {s:.4f}, {e:.4f}, {n:.4f} (lon/lat) in "
            f"EPSG:{outer.epsg}. Draw the AOI inside it (zones round the grid out), use smaller "
            "zones (zone_km), or a larger demo profile."
        )
