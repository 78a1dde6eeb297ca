"""Run parameters, validated once at the top of every notebook.

Examples
--------
>>> cfg = RunConfig(region="chartres", year=2023, stac="demo")
>>> cfg.run_dir.name
'chartres-2023-demo-ci'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .access.providers import Provider, get_provider
from .core.errors import ConfigError, DataError
from .core.regions import Region, SceneGrid, get_region, load_regions
from .core.seasons import Season, season_for
from .core.studyarea import PROFILES, StudyArea, aoi_area, clip_to, region_area

__all__ = ["RunConfig"]


@dataclass
class RunConfig:
    """The parameters of one notebook run.

    Parameters
    ----------
    region : str
        Region id or name (see :func:`cropkit.core.regions.region_names`): the study area
        when no ``aoi`` is given.
    year : int
        Year of the harvest (2017 to this year).
    season : str
        ``"calendar"`` (January-December of ``year``), ``"winter"`` (October of the year
        before to September), ``"summer"`` (March-November) or explicit dates
        ``"YYYY-MM-DD/YYYY-MM-DD"``; see :mod:`cropkit.core.seasons`.
    aoi : str or list of float
        Area of interest instead of a region: ``[west, south, east, north]`` in degrees,
        ``"w,s,e,n"``, or a vector file. With ``stac="demo"`` it must lie within a demo
        region's simulated area.
    zone_km : float
        Side of the hold-out zones of an ``aoi`` (km).
    epsg : int
        CRS of an ``aoi``'s grid (0: the UTM zone holding most of it).
    stac : str
        ``"demo"`` (local simulated STAC API), ``"earth-search"``,
        ``"earth-search-l2a"``, ``"planetary-computer"`` or the URL of a STAC API.
    max_cloud : float
        Largest ``eo:cloud_cover`` (%) of Sentinel-2 and EnMAP items to keep.
    profile : str
        Size of a region's study area: ``"ci"`` (two 256 x 256 zones), ``"full"``,
        ``"large"``.
    run_root : str
        Folder that holds the run folders.
    seed : int
        Seed of the demo simulation.
    """

    region: str = "chartres"
    year: int = 2023
    season: str = "calendar"
    aoi: str | list = ""
    zone_km: float = 5.12
    epsg: int = 0
    stac: str = "demo"
    max_cloud: float = 80.0
    profile: str = "ci"
    run_root: str = "runs"
    seed: int = 0
    _area: StudyArea = field(init=False, repr=False)
    _season: Season = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stac = str(self.stac).strip()
        this_year = dt.date.today().year
        if isinstance(self.year, bool) or not isinstance(self.year, numbers.Integral):
            raise ConfigError(f"year must be an integer such as 2023, not {self.year!r}.")
        if not 2017 <= self.year <= this_year:
            raise ConfigError(
                f"year={self.year} is out of range: Sentinel-2 L2A time series start in 2017 and "
                f"cannot be later than {this_year}."
            )
        try:
            self.max_cloud = float(self.max_cloud)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"max_cloud must be a number (a percentage), not {self.max_cloud!r}."
            ) from err
        self.year = int(self.year)
        if not 0 <= self.max_cloud <= 100:
            raise ConfigError(f"max_cloud={self.max_cloud} must be a percentage between 0 and 100.")
        if self.profile not in PROFILES:
            raise ConfigError(
                f"Unknown profile {self.profile!r}; choose one of {sorted(PROFILES)}."
            )
        get_provider(self.stac)  # fails early on a bad name
        self._season = season_for(self.year, self.season)
        self.season = self.season if isinstance(self.season, str) else str(self.season)
        self._area = self._study_area()
        if self._area.region is not None:
            self.region = self._area.region.region_id

    def _study_area(self) -> StudyArea:
        if self.aoi in ("", None, []):
            return region_area(get_region(self.region), self.profile)
        if isinstance(self.epsg, bool) or not isinstance(self.epsg, numbers.Integral):
            raise ConfigError(
                f"epsg must be an integer EPSG code (0: automatic), not {self.epsg!r}."
            )
        area = aoi_area(self.aoi, self.zone_km, int(self.epsg) or None)
        if not self.is_demo:
            return area
        partly = None
        for region in load_regions().values():  # the demo region that holds the AOI
            outer = region_area(region, self.profile)
            try:
                clip_to(area, outer.grid, f"the {self.profile!r} demo of {region.name}")
            except DataError as err:
                partly = partly or (err if area.outline.intersects(outer.outline) else None)
                continue
            return StudyArea(area.name, area.grid, area.outline, region, area.epsg_note)
        if partly is not None:
            raise ConfigError(str(partly))
        raise ConfigError(
            f"The AOI {tuple(round(v, 4) for v in area.outline.bounds)} lies outside every demo "
            "region's simulated area: the demo covers only its regions (see "
            "data/regions.geojson and ck.plot.area_map). Draw the AOI inside one, or use a real "
            "provider (stac='earth-search')."
        )

    @property
    def area(self) -> StudyArea:
        """The study area: its grid, zones and, for a demo run, the simulated region."""
        return self._area

    @property
    def region_info(self) -> Region | None:
        """The demo :class:`~cropkit.core.regions.Region` of the run (``None`` for a real AOI)."""
        return self._area.region

    @property
    def growing_season(self) -> Season:
        """The season's first and last day (:class:`~cropkit.core.seasons.Season`)."""
        return self._season

    @property
    def provider(self) -> Provider:
        """Provider profile of :attr:`stac`."""
        return get_provider(self.stac)

    @property
    def is_demo(self) -> bool:
        """Whether the run uses the embedded demo."""
        return self.provider.is_demo

    @property
    def grid(self) -> SceneGrid:
        """The study area's 10 m UTM grid."""
        return self._area.grid

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Study area as ``(west, south, east, north)`` in degrees."""
        return self.grid.lonlat_bounds()

    @property
    def identity(self) -> dict:
        """What defines the run's products: area, grid, season, provider."""
        return {
            "area": self._area.name,
            "epsg": self.grid.epsg,
            "bounds": [round(v, 2) for v in self.grid.bounds],
            "zones": len(self.grid.zones),
            "season": [self._season.start.isoformat(), self._season.end.isoformat()],
            "stac": self.provider.name if self.provider.name != "custom" else self.stac,
            "seed": self.seed if self.is_demo else None,
        }

    @property
    def run_dir(self) -> Path:
        """``<run_root>/<area>-<season>-<provider>[-<profile>]``, e.g. ``chartres-2023-demo-ci``."""
        provider = self.provider.name
        if provider == "custom":
            provider = "stac-" + hashlib.sha256(self.stac.encode()).hexdigest()[:6]
        parts = [self._area.name, self._season.label, provider]
        if self._area.name == self.region and not self.aoi:
            parts.append(self.profile)
        if self.is_demo and self.seed:
            parts.append(f"seed{self.seed}")
        return Path(self.run_root) / "-".join(parts)

    def parameters(self) -> dict:
        """The parameters as plain values (for the manifest)."""
        d = asdict(self)
        d.pop("_area", None)
        d.pop("_season", None)
        return d

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
            for k, v in self.summary().items()
        )
        return f"<table>{rows}</table>"

    def summary(self) -> dict:
        """A readable summary of the run."""
        r = self._area.region
        w, s, e, n = self.bbox
        h, wpx = self.grid.shape
        where = f"{r.name} ({r.department}), {r.region_id}" if r else "area of interest"
        out = {"region": where}
        if self.aoi:
            out["area"] = f"{self._area.name}: {self.aoi}"
        if r:
            out["landscape"] = r.landscape
        out.update(
            {
                "season": self._season.describe(),
                "STAC": self.stac if not self.is_demo else "demo (local stac-fastapi-pgstac)",
                "study area": f"{w:.4f}, {s:.4f}, {e:.4f}, {n:.4f} (lon/lat); "
                f"{wpx} x {h} px at 10 m, EPSG:{self.grid.epsg}",
                "CRS": self._area.epsg_note,
                "zones": len(self.grid.zones),
                "max cloud": f"{self.max_cloud:g} %",
                "profile": self.profile,
                "run folder": str(self.run_dir),
            }
        )
        return out
