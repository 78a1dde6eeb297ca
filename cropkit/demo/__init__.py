"""The embedded demo: simulated regions written as real COGs and STAC items.

:func:`build_demo` simulates one region and year (landscape, crop rotations, phenology,
PROSAIL reflectance, clouds and SCL, SAR backscatter, hyperspectral scenes) and writes a
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
import fcntl
import hashlib
import json
import multiprocessing as mp
import numbers
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..access.static_catalog import write_static_catalog
from ..core.errors import ConfigError, DataError
from ..core.paths import cache_dir, data_file
from ..core.regions import get_region
from ..core.studyarea import PROFILES
from ..core.taxonomy import load_taxonomy
from .acquisitions import enmap_calendar, s1_calendar, s2_calendar
from .catalog import collections, enmap_item, s1_item, s2_item
from .landscape import declared_parcels, simulate_landscape
from .rotations import REFERENCE_YEAR, crop_history
from .scene import SceneSimulator
from .spectra import build_lut
from .truth import canopy_separation

__all__ = ["DemoSpec", "DemoData", "PROFILES", "build_demo", "demo_spec", "canopy_separation"]

#: Bump when the simulator's output changes: cached demos of older versions are rebuilt.
FORMAT_VERSION = 10


@dataclass(frozen=True)
class DemoSpec:
    """What to simulate.

    Attributes
    ----------
    region : str
        Region id (see :func:`cropkit.core.regions.region_names`).
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
    lead_days : int
        Days simulated before 1 January of ``year`` (0 to 153: from August of the year
        before), for a season that starts in autumn.
    """

    region: str
    year: int
    zone_px: int = 256
    zones: tuple[int, int] = (1, 1)
    seed: int = 0
    enmap_scenes: int = 3
    lead_days: int = 0

    @property
    def first_day(self) -> dt.date:
        """The first simulated day."""
        return dt.date(self.year, 1, 1) - dt.timedelta(days=self.lead_days)

    @property
    def key(self) -> str:
        """Short name of the cache folder."""
        fields = {**asdict(self), "format_version": FORMAT_VERSION, "tables": _tables_digest()}
        if not self.lead_days:  # calendar-year demos keep their cache keys
            fields.pop("lead_days")
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.region}-{self.year}-{self.zones[0]}x{self.zones[1]}x{self.zone_px}-{digest}"


def demo_spec(region: str, year: int, profile: str = "ci", seed: int = 0, **overrides) -> DemoSpec:
    """Build and check a :class:`DemoSpec` from a profile name and overrides.

    Raises
    ------
    ConfigError
        For an unknown profile or override, a year outside 2017-2030, a negative
        seed, or a zone layout that :meth:`cropkit.core.regions.Region.grid` rejects.
    UnknownRegionError
        For an unknown region.
    """
    if profile not in PROFILES:
        raise ConfigError(f"Unknown demo profile {profile!r}; choose one of {sorted(PROFILES)}.")
    if isinstance(year, bool) or not isinstance(year, numbers.Integral) or not 2017 <= year <= 2030:
        raise ConfigError(
            f"year={year!r} is outside the simulated period; use a year from 2017 to 2030."
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed={seed!r} must be a non-negative integer.")
    allowed = {"zone_px", "zones", "enmap_scenes", "lead_days"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ConfigError(f"Unknown demo settings {unknown}; you can override {sorted(allowed)}.")
    settings = {**PROFILES[profile], **overrides}
    zones = settings["zones"]
    if not (isinstance(zones, (tuple, list)) and len(zones) == 2):
        raise ConfigError(
            f"zones={zones!r} must be two counts (west-east, north-south), e.g. (2, 1)."
        )
    settings["zones"] = (int(zones[0]), int(zones[1]))
    settings["zone_px"] = int(settings["zone_px"])
    if not 0 <= int(settings.get("enmap_scenes", 3)) <= 12:
        raise ConfigError("enmap_scenes must be between 0 and 12.")
    if not 0 <= int(settings.get("lead_days", 0)) <= 153:
        raise ConfigError(
            "lead_days must be between 0 and 153: the demo simulates at most from 1 August "
            "of the year before."
        )
    reg = get_region(region)
    reg.grid(settings["zone_px"], settings["zones"])  # raises ConfigError on a bad layout
    return DemoSpec(region=reg.region_id, year=int(year), seed=int(seed), **settings)


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

    def layout_catalog(self, layout: str = "earth-search") -> Path:
        """The catalog with the demo's Sentinel-2 in provider ``layout``'s layout.

        See :mod:`cropkit.demo.layouts` (other layouts are written on first use).
        """
        from .layouts import layout_catalog

        return layout_catalog(self.root, layout)

    @property
    def parcels_path(self) -> Path:
        """GeoParquet of the parcels (RPG columns)."""
        return self.root / "parcels.parquet"

    def parcels(self) -> gpd.GeoDataFrame:
        """The parcels, in the zone's UTM CRS."""
        return gpd.read_parquet(self.parcels_path)

    def truth(self) -> pd.DataFrame:
        """What only the simulator knows, one row per parcel.

        Columns ``ID_PARCEL``, ``grown`` and ``declared`` (tier-4 crops: the RPG file
        shows the declared one), ``previous`` (the crop grown on the parcel the year
        before: parcels keep their ids from year to year, :mod:`cropkit.demo.rotations`),
        ``false_declaration``, ``changed`` (grown differs from previous) and ``stressed``
        (a weaker canopy that ripens early).
        """
        path = self.root / "truth.parquet"
        if not path.exists():
            raise DataError(
                f"{path} is missing: this demo was built by an older cropkit. Rebuild it with "
                "build_demo(..., force=True) or `python -m cropkit build-demo --force`."
            )
        return pd.read_parquet(path)

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


#: State of the rendering processes (set by :func:`_init_worker`).
_STATE: dict | None = None

#: The committed tables a demo is simulated from; editing one invalidates cached demos.
DATA_TABLES = ("regions.geojson", "taxonomy.csv", "crops.csv", "landcover.csv", "rotations.csv")


def _tables_digest() -> str:
    digest = hashlib.sha256()
    for name in DATA_TABLES:
        digest.update(data_file(name).read_bytes())
    return digest.hexdigest()[:12]


def _init_worker(state: dict | None) -> None:
    global _STATE
    _STATE = state


def _render(task: tuple[str, int]) -> tuple[str, dict]:
    """Render and write one acquisition (runs in a worker process)."""
    cid, i = task
    st = _STATE
    spec, reg, grid, sim, folder = st["spec"], st["region"], st["grid"], st["sim"], st["folder"]
    acq = st["calendars"][cid].iloc[i]
    when = acq.datetime.to_pydatetime()
    out = folder / cid
    if cid == "sentinel-2-c1-l2a":
        scene = sim.sentinel2(pd.Timestamp(when), bool(acq.swath_edge), _rng(spec, 3, i))
        item = s2_item(out, reg, grid, when, acq.platform, acq.relative_orbit, scene)
    elif cid == "sentinel-1-rtc":
        bands = sim.sentinel1(pd.Timestamp(when), float(acq.incidence_deg), _rng(spec, 4, i))
        item = s1_item(out, reg, grid, when, acq, bands)
    else:
        refl, cover = sim.enmap(pd.Timestamp(when), _rng(spec, 6, i))
        item = enmap_item(out, reg, grid, when, refl, cover)
    return cid, item.to_dict(include_self_link=False, transform_hrefs=False)  # no migration


def _render_all(tasks: list[tuple[str, int]], state: dict, workers: int | None) -> list:
    """Render every task, in task order, in a process pool when ``workers > 1``.

    Forking a process that runs threads (a Jupyter kernel, a dask client) can deadlock,
    so the pool forks only from a single-threaded process and otherwise starts its
    workers from a clean server process (``forkserver``).
    """
    workers = workers or min(os.cpu_count() or 1, 4)
    method = "fork" if threading.active_count() == 1 else "forkserver"
    if workers > 1 and method in mp.get_all_start_methods():
        ctx = mp.get_context(method)
        with ctx.Pool(workers, initializer=_init_worker, initargs=(state,)) as pool:
            return list(pool.imap(_render, tasks, chunksize=4))
    _init_worker(state)
    try:
        return [_render(t) for t in tasks]
    finally:
        _init_worker(None)


def build_demo(
    region: str = "chartres",
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

    The build happens in a temporary folder that is renamed into place when complete,
    so an interrupted build leaves no half-written demo; a process that asks for a demo
    another is building waits for it (a lock file beside it) and reuses it.

    Parameters
    ----------
    region : str
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
    spec = demo_spec(region, year, profile, seed, **overrides)
    parent = Path(root) if root else cache_dir("demo")
    folder = parent / spec.key
    if (folder / "demo.json").exists() and not force:
        return DemoData(folder, spec)
    parent.mkdir(parents=True, exist_ok=True)
    with open(parent / f".{spec.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per demo; the others wait and reuse it
        if (folder / "demo.json").exists() and not force:
            return DemoData(folder, spec)
        return _build_into(spec, parent, folder, progress, workers)


def _build_into(spec: DemoSpec, parent: Path, folder: Path, progress: bool, workers) -> DemoData:
    """Build in a temporary folder, then rename it onto ``folder``."""
    work = parent / f".{spec.key}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        info = _build(spec, work, progress, workers)
        (work / "demo.json").write_text(json.dumps(info, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DemoData(folder, spec)


def _truth(grown, declared, previous, sim: SceneSimulator, taxonomy) -> pd.DataFrame:
    """What the RPG file does not say: the crop grown (and the year before's), the stress."""
    tier4 = taxonomy.table["tier4"]
    return pd.DataFrame(
        {
            "ID_PARCEL": grown["ID_PARCEL"].to_numpy(),
            "grown": tier4.loc[grown["CODE_CULTU"]].to_numpy(),
            "declared": tier4.loc[declared["CODE_CULTU"]].to_numpy(),
            "previous": tier4.loc[previous].to_numpy(),
            "stressed": np.asarray(sim.traj.stressed, dtype=bool),
        }
    ).assign(
        false_declaration=lambda t: t["grown"] != t["declared"],
        changed=lambda t: t["grown"] != t["previous"],
    )


def _rotated(spec: DemoSpec, landscape, taxonomy) -> tuple[object, np.ndarray]:
    """The landscape with the crops of ``spec.year``, and each parcel's crop the year before.

    The parcels are those of :data:`~cropkit.demo.rotations.REFERENCE_YEAR` (same
    geometry and ids every year); the crops follow by rotation
    (:func:`cropkit.demo.rotations.crop_history`).
    """
    parcels = landscape.parcels
    history = crop_history(
        parcels["CODE_CULTU"].to_numpy(),
        parcels["zone_id"].to_numpy(),
        [spec.year - 1, spec.year],
        taxonomy,
        lambda year: _rng(replace(spec, year=year), 8),
    )
    parcels = parcels.assign(CODE_CULTU=history[spec.year])
    parcels["CODE_GROUP"] = taxonomy.table.loc[parcels["CODE_CULTU"], "code_group"].to_numpy()
    return replace(landscape, parcels=parcels), history[spec.year - 1]


def _build(spec: DemoSpec, folder: Path, progress: bool, workers: int | None) -> dict:
    """Simulate ``spec`` into ``folder``; returns the contents of ``demo.json``."""
    start = time.perf_counter()
    timings: dict[str, float] = {}

    def stage(name: str, t0: float) -> float:
        timings[name] = round(time.perf_counter() - t0, 2)
        if progress:
            print(f"  {name:<12} {timings[name]:6.1f} s", flush=True)
        return time.perf_counter()

    reg = get_region(spec.region)
    grid = reg.grid(spec.zone_px, spec.zones)
    taxonomy = load_taxonomy()
    t0 = time.perf_counter()
    # one landscape for every year (that of the reference year), its crops rotated
    landscape = simulate_landscape(reg, grid, taxonomy, _rng(replace(spec, year=REFERENCE_YEAR), 1))
    landscape, previous = _rotated(spec, landscape, taxonomy)
    declared = declared_parcels(landscape.parcels, taxonomy, _rng(spec, 7))
    declared.to_parquet(folder / "parcels.parquet")
    landscape.land_cover.to_parquet(folder / "landcover.parquet")
    grid.zones_frame().to_file(folder / "zones.geojson", driver="GeoJSON")
    t0 = stage("landscape", t0)
    lut = build_lut()
    t0 = stage("prosail_lut", t0)
    sim = SceneSimulator(
        reg, grid, landscape, taxonomy, lut, spec.year, _rng(spec, 2), spec.lead_days
    )
    _truth(landscape.parcels, declared, previous, sim, taxonomy).to_parquet(
        folder / "truth.parquet"
    )

    cols = collections()
    phase = int(hashlib.sha256(reg.mgrs_tile.encode()).hexdigest()[:4], 16) % 10
    calendars = {
        "sentinel-2-c1-l2a": s2_calendar(
            spec.year, phase, reg.properties["s2_orbit_overlap"], spec.lead_days
        ),
        "sentinel-1-rtc": s1_calendar(spec.year, phase, spec.lead_days),
        "enmap-l2a": enmap_calendar(spec.year, _rng(spec, 5), spec.enmap_scenes),
    }
    tasks = [(cid, i) for cid, cal in calendars.items() for i in range(len(cal))]
    state = dict(spec=spec, region=reg, grid=grid, sim=sim, folder=folder, calendars=calendars)
    items: dict[str, list[dict]] = {cid: [] for cid in cols}
    for cid, item in _render_all(tasks, state, workers):
        items[cid].append(item)
    t0 = stage("imagery", t0)
    write_static_catalog(
        folder,
        {
            "id": f"cropkit-demo-{spec.region}-{spec.year}",
            "title": f"cropkit demo · {reg.name} {spec.year}",
            "description": f"cropkit simulated demo: {reg.name} ({reg.department}), "
            f"{spec.first_day} to {spec.year}-12-31.",
        },
        {cid: (fields, items[cid]) for cid, fields in cols.items()},
    )
    stage("stac", t0)
    return {
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
