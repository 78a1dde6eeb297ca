"""Run parameters, validated once at the top of every notebook.

Examples
--------
>>> cfg = RunConfig(region="chartres", year=2023, stac="demo")
>>> cfg.run_dir.name
'chartres-2023'
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .demo import PROFILES, DemoSpec, demo_spec
from .errors import ConfigError
from .providers import Provider, get_provider
from .regions import Region, SceneGrid, get_region

__all__ = ["RunConfig"]


@dataclass
class RunConfig:
    """The parameters of one notebook run.

    Parameters
    ----------
    region : str
        Region id or name (see :func:`cropkit.regions.region_names`).
    year : int
        Year of the growing season (2017 to this year).
    stac : str
        ``"demo"`` (local simulated STAC API), ``"earth-search"``,
        ``"planetary-computer"`` or the URL of a STAC API.
    max_cloud : float
        Largest ``eo:cloud_cover`` (%) of Sentinel-2 and EnMAP items to keep.
    profile : str
        Size of the study area: ``"ci"`` (two 256 x 256 zones), ``"full"``, ``"large"``.
    run_root : str
        Folder that holds the run folders.
    seed : int
        Seed of the demo simulation.
    """

    region: str = "chartres"
    year: int = 2023
    stac: str = "demo"
    max_cloud: float = 80.0
    profile: str = "ci"
    run_root: str = "runs"
    seed: int = 0
    _region: Region = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stac = str(self.stac).strip()
        self._region = get_region(self.region)
        self.region = self._region.region_id
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

    @property
    def region_info(self) -> Region:
        """The :class:`~cropkit.regions.Region` object."""
        return self._region

    @property
    def provider(self) -> Provider:
        """Provider profile of :attr:`stac`."""
        return get_provider(self.stac)

    @property
    def is_demo(self) -> bool:
        """Whether the run uses the embedded demo."""
        return self.provider.name == "demo"

    @property
    def demo_spec(self) -> DemoSpec:
        """What the demo simulates for this run."""
        return demo_spec(self.region, self.year, self.profile, self.seed)

    @property
    def grid(self) -> SceneGrid:
        """The study area's 10 m UTM grid."""
        spec = self.demo_spec
        return self._region.grid(spec.zone_px, spec.zones)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Study area as ``(west, south, east, north)`` in degrees."""
        return self.grid.lonlat_bounds()

    @property
    def run_dir(self) -> Path:
        """``<run_root>/<region>-<year>``."""
        return Path(self.run_root) / f"{self.region}-{self.year}"

    def parameters(self) -> dict:
        """The parameters as plain values (for the manifest)."""
        d = asdict(self)
        d.pop("_region", None)
        return d

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
            for k, v in self.summary().items()
        )
        return f"<table>{rows}</table>"

    def summary(self) -> dict:
        """A readable summary of the run."""
        r = self._region
        w, s, e, n = self.bbox
        h, wpx = self.grid.shape
        return {
            "region": f"{r.name} ({r.department}), {r.region_id}",
            "landscape": r.landscape,
            "year": self.year,
            "STAC": self.stac if not self.is_demo else "demo (local stac-fastapi-pgstac)",
            "study area": f"{w:.4f}, {s:.4f}, {e:.4f}, {n:.4f} (lon/lat); "
            f"{wpx} x {h} px at 10 m, EPSG:{r.epsg}",
            "zones": len(self.grid.zones),
            "max cloud": f"{self.max_cloud:g} %",
            "profile": self.profile,
            "run folder": str(self.run_dir),
        }
