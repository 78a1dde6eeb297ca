"""The embedded demo: simulated regions written as real COGs and STAC items.

:func:`build_demo` simulates one region and year (landscape, phenology, PROSAIL
reflectance, clouds and SCL, SAR backscatter, hyperspectral scenes) and writes a
self-contained static STAC catalog plus the parcels, in the cache. It is deterministic
for a given seed and reused when already built.

Examples
--------
>>> demo = build_demo("chartres", 2023, profile="ci")  # doctest: +SKIP
>>> demo.catalog_path.name, len(demo.parcels())  # doctest: +SKIP
('catalog.json', 118)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from ..errors import ConfigError
from ..paths import cache_dir
from ..regions import Region, get_region
from ..static_catalog import write_static_catalog
from ..taxonomy import load_taxonomy
from .acquisitions import enmap_calendar, s1_calendar, s2_calendar
from .catalog import collections, enmap_item, s1_item, s2_item
from .landscape import simulate_landscape
from .scene import SceneSimulator
from .spectra import build_lut

__all__ = ["DemoSpec", "DemoData", "PROFILES", "build_demo", "demo_spec"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class DemoSpec:
    """What to simulate.

    Attributes
    ----------
    region : str
        Region id (see :func:`cropkit.regions.region_names`).
    year : int
        Calendar year.
    zone_px : int
        Side of one zone in 10 m pixels.
    zones : tuple of int
        Zones west-east and north-south.
    seed : int
        Random seed; the same spec gives the same bytes.
    enmap_scenes : int
        Number of EnMAP acquisitions.
    """

    region: str
    year: int
    zone_px: int = 256
    zones: tuple[int, int] = (1, 1)
    seed: int = 0
    enmap_scenes: int = 3

    @property
    def key(self) -> str:
        """Short name of the cache folder."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.region}-{self.year}-{self.zones[0]}x{self.zones[1]}x{self.zone_px}-{digest}"


#: Named demo sizes: ``ci`` is what tests and ``make demo`` use.
PROFILES = {
    "ci": {"zone_px": 256, "zones": (2, 1)},
    "full": {"zone_px": 512, "zones": (2, 2)},
    "large": {"zone_px": 2048, "zones": (1, 1)},
}


def demo_spec(region: str, year: int, profile: str = "ci", seed: int = 0, **overrides) -> DemoSpec:
    """Build a :class:`DemoSpec` from a profile name and overrides.

    Raises
    ------
    ConfigError
        For an unknown profile or a year outside 2017-2030.
    """
    if profile not in PROFILES:
        raise ConfigError(f"Unknown demo profile {profile!r}; choose one of {sorted(PROFILES)}.")
    if not isinstance(year, (int, np.integer)) or not 2017 <= int(year) <= 2030:
        raise ConfigError(
            f"year={year!r} is outside the simulated period; use a year from 2017 to 2030."
        )
    settings = {**PROFILES[profile], **overrides}
    settings["zones"] = tuple(settings["zones"])
    return DemoSpec(region=get_region(region).region_id, year=int(year), seed=seed, **settings)


@dataclass(frozen=True)
class DemoData:
    """A built demo on disk.

    Attributes
    ----------
    root : pathlib.Path
        Folder with ``catalog.json``, one sub-folder per collection, the parcels and
        ``demo.json``.
    spec : DemoSpec
        What was simulated.
    """

    root: Path
    spec: DemoSpec

    @property
    def catalog_path(self) -> Path:
        """The root ``catalog.json`` of the static STAC catalog."""
        return self.root / "catalog.json"

    @property
    def parcels_path(self) -> Path:
        """GeoParquet of the parcels (RPG columns)."""
        return self.root / "parcels.parquet"

    def parcels(self) -> gpd.GeoDataFrame:
        """The parcels, in the zone's UTM CRS."""
        return gpd.read_parquet(self.parcels_path)

    def land_cover(self) -> gpd.GeoDataFrame:
        """Non-agricultural land (forest, hedges, roads, buildings, water)."""
        return gpd.read_parquet(self.root / "landcover.parquet")

    def zones(self) -> gpd.GeoDataFrame:
        """Zone polygons (``zone_id``) in the zone's UTM CRS."""
        return gpd.read_file(self.root / "zones.geojson")

    def info(self) -> dict:
        """Contents of ``demo.json``: spec, item counts, timings."""
        return json.loads((self.root / "demo.json").read_text())


def _rng(spec: DemoSpec, *stream: int) -> np.random.Generator:
    region_code = int(hashlib.sha256(spec.region.encode()).hexdigest()[:8], 16)
    return np.random.default_rng([spec.seed, region_code, spec.year, *stream])


_STATE: dict | None = None


def _render(task: tuple[str, int]) -> tuple[str, dict]:
    """Render and write one acquisition (runs in a worker process)."""
    cid, i = task
    st = _STATE
    spec, reg, grid, sim, folder = st["spec"], st["region"], st["grid"], st["sim"], st["folder"]
    acq = st["calendars"][cid].iloc[i]
    when = acq.datetime.to_pydatetime()
    out = folder / cid
    if cid == "sentinel-2-l2a":
        scene = sim.sentinel2(pd.Timestamp(when), bool(acq.swath_edge), _rng(spec, 3, i))
        item = s2_item(out, reg, grid, when, acq.platform, acq.relative_orbit, scene, int(acq.seq))
    elif cid == "sentinel-1-rtc":
        bands = sim.sentinel1(pd.Timestamp(when), float(acq.incidence_deg), _rng(spec, 4, i))
        item = s1_item(out, reg, grid, when, acq, bands)
    else:
        refl, cover = sim.enmap(pd.Timestamp(when), _rng(spec, 6, i))
        item = enmap_item(out, reg, grid, when, refl, cover)
    return cid, item.to_dict(include_self_link=False, transform_hrefs=False)  # no migration


def _render_all(tasks: list[tuple[str, int]], workers: int | None):
    """Yield ``(collection_id, item dict)`` for every task, in task order."""
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers > 1 and "fork" in mp.get_all_start_methods():
        with mp.get_context("fork").Pool(workers) as pool:
            results = list(pool.imap(_render, tasks, chunksize=4))
    else:
        results = [_render(t) for t in tasks]
    yield from results


def build_demo(
    region: str | Region = "chartres",
    year: int = 2023,
    profile: str = "ci",
    seed: int = 0,
    root: str | Path | None = None,
    force: bool = False,
    progress: bool = False,
    workers: int | None = None,
    **overrides,
) -> DemoData:
    """Simulate a region and year and write it as COGs + a static STAC catalog.

    Parameters
    ----------
    region : str or Region
        Region id or name.
    year : int
        Calendar year (2017-2030).
    profile : str
        Size preset from :data:`PROFILES` (``"ci"``: two 256 x 256 zones).
    seed : int
        Random seed.
    root : path-like, optional
        Parent folder; cropkit's cache (``~/.cache/cropkit/demo``) by default.
    force : bool
        Rebuild even if a complete build exists.
    progress : bool
        Print one line per stage.
    workers : int, optional
        Processes that render acquisitions in parallel (default: one per CPU, at
        most 4). Output does not depend on it.
    **overrides
        Fields of :class:`DemoSpec` (``zone_px``, ``zones``, ``enmap_scenes``).

    Returns
    -------
    DemoData
    """
    region_id = region.region_id if isinstance(region, Region) else region
    spec = demo_spec(region_id, year, profile, seed, **overrides)
    parent = Path(root) if root else cache_dir("demo")
    folder = parent / spec.key
    marker = folder / "demo.json"
    if marker.exists() and not force:
        return DemoData(folder, spec)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    timings = {}

    def stage(name: str, t0: float) -> float:
        timings[name] = round(time.perf_counter() - t0, 2)
        if progress:
            print(f"  {name:<12} {timings[name]:6.1f} s", flush=True)
        return time.perf_counter()

    reg = get_region(spec.region)
    grid = reg.grid(spec.zone_px, spec.zones)
    taxonomy = load_taxonomy()
    t0 = time.perf_counter()
    landscape = simulate_landscape(reg, grid, taxonomy, _rng(spec, 1))
    landscape.parcels.to_parquet(folder / "parcels.parquet")
    landscape.land_cover.to_parquet(folder / "landcover.parquet")
    zones = gpd.GeoDataFrame(
        {"zone_id": [z.zone_id for z in grid.zones]},
        geometry=[box(*z.bounds) for z in grid.zones],
        crs=grid.epsg,
    )
    zones.to_file(folder / "zones.geojson", driver="GeoJSON")
    t0 = stage("landscape", t0)
    lut = build_lut()
    t0 = stage("prosail_lut", t0)
    sim = SceneSimulator(reg, grid, landscape, taxonomy, lut, spec.year, _rng(spec, 2))

    cols = collections()
    phase = int(hashlib.sha256(reg.mgrs_tile.encode()).hexdigest()[:4], 16) % 10
    s2_cal = s2_calendar(spec.year, phase, reg.properties["s2_orbit_overlap"])
    s1_cal = s1_calendar(spec.year, phase)
    en_cal = enmap_calendar(spec.year, _rng(spec, 5), spec.enmap_scenes)
    tasks = (
        [("sentinel-2-l2a", i) for i in range(len(s2_cal))]
        + [("sentinel-1-rtc", i) for i in range(len(s1_cal))]
        + [("enmap-l2a", i) for i in range(len(en_cal))]
    )
    global _STATE
    _STATE = dict(
        spec=spec,
        region=reg,
        grid=grid,
        sim=sim,
        folder=folder,
        calendars={"sentinel-2-l2a": s2_cal, "sentinel-1-rtc": s1_cal, "enmap-l2a": en_cal},
    )
    items: dict[str, list[dict]] = {cid: [] for cid in cols}
    try:
        for cid, item in _render_all(tasks, workers):
            items[cid].append(item)
    finally:
        _STATE = None
    t0 = stage("imagery", t0)
    write_static_catalog(
        folder,
        {
            "id": f"cropkit-demo-{spec.region}-{spec.year}",
            "title": f"cropkit demo · {reg.name} {spec.year}",
            "description": f"cropkit simulated demo: {reg.name} ({reg.department}), {spec.year}.",
        },
        {cid: (fields, items[cid]) for cid, fields in cols.items()},
    )
    stage("stac", t0)
    info = {
        "format_version": FORMAT_VERSION,
        "spec": asdict(spec),
        "region": reg.region_id,
        "epsg": grid.epsg,
        "shape": list(grid.shape),
        "bounds": list(grid.bounds),
        "lonlat_bounds": list(grid.lonlat_bounds()),
        "items": {cid: len(v) for cid, v in items.items()},
        "parcels": len(landscape.parcels),
        "seconds": round(time.perf_counter() - start, 2),
        "timings": timings,
        "built": dt.date.today().isoformat(),
    }
    marker.write_text(json.dumps(info, indent=2))
    return DemoData(folder, spec)
