"""Demo regions and their zones.

A region is one of the agricultural landscapes listed in ``data/regions.geojson``. Its
study area is a grid of square *zones* on the region's UTM grid, centred on the
region's point; zones are the unit of spatial hold-out.

Examples
--------
>>> region = get_region("chartres")
>>> grid = region.grid(zone_px=256, zones=(2, 1))
>>> grid.shape, grid.epsg
((256, 512), 32631)
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from affine import Affine
from pyproj import Transformer

from .errors import ConfigError, UnknownRegionError
from .paths import data_file

__all__ = [
    "Region",
    "Zone",
    "SceneGrid",
    "tiled_grid",
    "load_regions",
    "get_region",
    "region_names",
]

#: Pixel size of the simulation grid (metres): Sentinel-2's finest bands.
PIXEL_M = 10
#: Zone origins are snapped to this many metres so 10, 20 and 30 m grids all align.
SNAP_M = 60


@dataclass(frozen=True)
class Zone:
    """One square zone of a study area.

    Attributes
    ----------
    zone_id : str
        ``"z1"``, ``"z2"``, ... in row-major order from the north-west corner.
    bounds : tuple of float
        ``(xmin, ymin, xmax, ymax)`` in the region's UTM CRS (metres).
    rows, cols : slice
        Where the zone sits in the study-area grid (pixel indices).
    """

    zone_id: str
    bounds: tuple[float, float, float, float]
    rows: slice
    cols: slice


@dataclass(frozen=True)
class SceneGrid:
    """The 10 m UTM grid of a study area.

    Attributes
    ----------
    epsg : int
        UTM EPSG code.
    transform : affine.Affine
        Pixel-to-CRS transform of the 10 m grid (north up).
    shape : tuple of int
        ``(height, width)`` in 10 m pixels.
    zones : tuple of Zone
        The zones that tile the grid.
    """

    epsg: int
    transform: Affine
    shape: tuple[int, int]
    zones: tuple[Zone, ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the grid in its CRS."""
        h, w = self.shape
        x0, y0 = self.transform.c, self.transform.f
        return (x0, y0 - h * PIXEL_M, x0 + w * PIXEL_M, y0)

    def at_resolution(self, res_m: int) -> tuple[Affine, tuple[int, int]]:
        """Transform and shape of the same area at ``res_m`` metres (rounded up)."""
        h, w = self.shape
        factor = res_m / PIXEL_M
        shape = (int(np.ceil(h / factor)), int(np.ceil(w / factor)))
        return Affine(res_m, 0, self.transform.c, 0, -res_m, self.transform.f), shape

    def zones_frame(self):
        """The zones as a GeoDataFrame (``zone_id``, polygon) in the grid's CRS."""
        import geopandas as gpd
        from shapely.geometry import box

        return gpd.GeoDataFrame(
            {"zone_id": [z.zone_id for z in self.zones]},
            geometry=[box(*z.bounds) for z in self.zones],
            crs=self.epsg,
        )

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """Bounds in WGS84 longitude/latitude (``west, south, east, north``)."""
        to_ll = Transformer.from_crs(self.epsg, 4326, always_xy=True)
        return tuple(float(v) for v in to_ll.transform_bounds(*self.bounds))  # type: ignore[return-value]


@dataclass(frozen=True)
class Region:
    """One demo region, as read from ``data/regions.geojson``.

    Attributes
    ----------
    region_id : str
        Short name used in parameters and run folders, e.g. ``"chartres"``.
    name, department, landscape : str
        Human-readable description.
    lon, lat : float
        Centre of the study area (WGS84).
    epsg : int
        UTM zone of the region (``326xx``).
    mgrs_tile : str
        Sentinel-2 MGRS tile that covers the region.
    properties : dict
        Everything else in the table: field-size pattern, crop mix, cloud and rain
        climatology (monthly lists, January first).
    """

    region_id: str
    name: str
    department: str
    landscape: str
    lon: float
    lat: float
    epsg: int
    mgrs_tile: str
    properties: dict = field(repr=False, compare=False, hash=False)

    @property
    def crop_mix(self) -> dict[str, float]:
        """Area fraction of each RPG crop code (sums to 1)."""
        return dict(self.properties["crop_mix"])

    def grid(self, zone_px: int = 256, zones: tuple[int, int] = (1, 1)) -> SceneGrid:
        """Lay out the study area as ``zones = (n_columns, n_rows)`` zones.

        Parameters
        ----------
        zone_px : int
            Side of one zone in 10 m pixels (32 to 8192); an odd value is rounded up
            to an even one so the 20 m grid aligns with the 10 m grid.
        zones : tuple of int
            Number of zones west-east and north-south.

        Returns
        -------
        SceneGrid
            Grid of shape ``(zones[1] * zone_px, zones[0] * zone_px)``.
        """
        nx, ny = int(zones[0]), int(zones[1])
        if zone_px < 32 or zone_px > 8192:
            raise ConfigError(f"zone_px={zone_px} is out of range; use 32 to 8192 pixels.")
        if nx < 1 or ny < 1 or nx * ny > 64:
            raise ConfigError(f"zones={zones} must be two positive counts with at most 64 zones.")
        zone_px = int(zone_px) + int(zone_px) % 2
        to_utm = Transformer.from_crs(4326, self.epsg, always_xy=True)
        cx, cy = to_utm.transform(self.lon, self.lat)
        width_m, height_m = nx * zone_px * PIXEL_M, ny * zone_px * PIXEL_M
        x0 = np.floor((cx - width_m / 2) / SNAP_M) * SNAP_M
        y0 = np.ceil((cy + height_m / 2) / SNAP_M) * SNAP_M
        return tiled_grid(self.epsg, float(x0), float(y0), zone_px, nx, ny)


def tiled_grid(epsg: int, x0: float, y0: float, zone_px: int, nx: int, ny: int) -> SceneGrid:
    """A 10 m grid whose north-west corner is ``(x0, y0)``, tiled by ``nx`` x ``ny`` zones.

    Zones are ``zone_px`` pixels square, named ``z1``, ``z2``, ... row by row from the
    north-west corner.
    """
    zones = []
    for j in range(ny):
        for i in range(nx):
            rows = slice(j * zone_px, (j + 1) * zone_px)
            cols = slice(i * zone_px, (i + 1) * zone_px)
            xmin = x0 + cols.start * PIXEL_M
            ymax = y0 - rows.start * PIXEL_M
            side = zone_px * PIXEL_M
            bounds = (float(xmin), float(ymax - side), float(xmin + side), float(ymax))
            zones.append(Zone(f"z{len(zones) + 1}", bounds, rows, cols))
    transform = Affine(PIXEL_M, 0, float(x0), 0, -PIXEL_M, float(y0))
    return SceneGrid(epsg, transform, (ny * zone_px, nx * zone_px), tuple(zones))


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.strip().lower().replace(" ", "-").replace("_", "-")


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Region]:
    with open(path, encoding="utf-8") as f:
        collection = json.load(f)
    regions = {}
    for feature in collection["features"]:
        props = dict(feature["properties"])
        lon, lat = feature["geometry"]["coordinates"]
        region = Region(
            region_id=props.pop("id"),
            name=props.pop("name"),
            department=props.pop("department"),
            landscape=props.pop("landscape"),
            lon=float(lon),
            lat=float(lat),
            epsg=int(props.pop("epsg")),
            mgrs_tile=props.pop("mgrs_tile"),
            properties=props,
        )
        regions[region.region_id] = region
    return regions


def load_regions() -> dict[str, Region]:
    """Return every demo region, keyed by its id."""
    return dict(_load(str(data_file("regions.geojson"))))


def region_names() -> list[str]:
    """Return the ids of the demo regions, sorted."""
    return sorted(load_regions())


def get_region(name: str | Region) -> Region:
    """Look a region up by id or name (case and accents ignored).

    Raises
    ------
    UnknownRegionError
        If no region matches; the message lists the known ones.
    """
    if isinstance(name, Region):
        return name
    regions = load_regions()
    key = _slug(str(name))
    for region in regions.values():
        if key in (region.region_id, _slug(region.name)):
            return region
    raise UnknownRegionError(
        f"Unknown region {name!r}. Known regions: {', '.join(sorted(regions))}. "
        "Add a feature to data/regions.geojson to define a new one."
    )
