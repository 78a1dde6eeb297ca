"""The one door to the demo: the only module that says "if demo: build and serve".

:func:`open_source` hands back a :class:`RunSource`: what a run reads, wherever it comes
from. Its STAC API (a provider's, or the demo's served on localhost), the parcels that
come with the data (the demo's; None for a provider: bring an RPG file), and what only a
simulation knows (the truth per parcel, when two crops' canopies differ), else None.
Stages and notebooks receive it and ask "is there a truth?", never "is this a demo?"::

    source = ck.open_source(cfg)
    items = ck.stages.discovery.run_items(source.stac, run, cfg)
    if source.truth is not None:
        ...  # score against what was really grown
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .access.stac import StacSource, discover_collections, open_api
from .core.errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import xarray as xr

    from .config import RunConfig
    from .demo import DemoData

__all__ = ["RunSource", "open_source", "connect", "demo_data", "shared_api"]


@dataclass
class RunSource:
    """What a run reads: its STAC API, the parcels and truth that come with the data.

    Made by :func:`open_source`; nothing is opened until asked for (the STAC API is
    connected on first use of :attr:`stac`, so a stage whose products exist already
    starts no server).

    Attributes
    ----------
    config : RunConfig
        The run.
    """

    config: RunConfig
    _demo: DemoData | None = field(default=None, repr=False)

    @cached_property
    def stac(self) -> StacSource:
        """The run's STAC API (the demo's is served on localhost, or reused)."""
        return connect(self.config)

    @property
    def simulated(self) -> bool:
        """Whether the data is simulated: a truth exists beside what the sensors saw."""
        return self._demo is not None

    @cached_property
    def parcels(self) -> gpd.GeoDataFrame | None:
        """Parcels delivered with the data (RPG columns, the grid's CRS), or None.

        A provider delivers imagery only: bring a parcel file (notebook 03's
        ``parcels_path``).
        """
        return self._demo.parcels() if self._demo is not None else None

    @cached_property
    def truth(self) -> pd.DataFrame | None:
        """What was really grown, per parcel, where the data is simulated; else None.

        Columns ``ID_PARCEL``, ``grown``, ``declared``, ``previous``,
        ``false_declaration``, ``changed`` and ``stressed`` (see
        :meth:`cropkit.demo.DemoData.truth`).
        """
        return self._demo.truth() if self._demo is not None else None

    @property
    def previous_crops(self) -> pd.Series | None:
        """Each parcel's tier-4 crop of the year before (by ``ID_PARCEL``), where known.

        The demo's parcels keep their ids from year to year and know their previous crop;
        for real data, mark crop change from last year's parcel file with
        :func:`cropkit.compute.labels.mark_crop_change`.
        """
        truth = self.truth
        if truth is None or "previous" not in truth:
            return None
        return truth.set_index("ID_PARCEL")["previous"]

    def canopy_separation(self, pairs, starts, seed: int = 0) -> xr.DataArray | None:
        """When the canopies of each pair of crops differ most, where simulated; else None.

        See :func:`cropkit.demo.truth.canopy_separation` (dims ``(pair, time)``).
        """
        if self._demo is None:
            return None
        from .demo import canopy_separation

        return canopy_separation(pairs, starts, seed=seed)

    @property
    def basemap(self) -> str | None:
        """A basemap for maps of the area: none over a simulated landscape."""
        return None if self.simulated else "OpenStreetMap"


def open_source(config: RunConfig) -> RunSource:
    """The :class:`RunSource` of a run (builds the demo, or takes it from the cache)."""
    return RunSource(config, demo_data(config) if config.is_demo else None)


def demo_data(config: RunConfig) -> DemoData:
    """The built demo (:class:`cropkit.demo.DemoData`) behind a demo run.

    Built (or taken from the cache) for the run's demo region, year, profile and seed; a
    season that starts in the autumn before ``year`` is simulated from its first day.

    Raises
    ------
    ConfigError
        If the run does not use the demo, or its season reaches beyond what the demo
        simulates (1 August of the year before to 31 December of ``year``).
    """
    if not config.is_demo:
        raise ConfigError(
            f"The run uses {config.stac!r}, not the demo: there is no simulated truth for it."
        )
    from .demo import build_demo

    season = config.growing_season
    lead_days = max(0, (dt.date(config.year, 1, 1) - season.start).days)
    if lead_days > 153 or season.end > dt.date(config.year, 12, 31):
        raise ConfigError(
            f"The demo simulates 1 August {config.year - 1} to 31 December {config.year} at "
            f"most; the season {season.describe()} reaches beyond. Choose a season within, "
            "or set year to the harvest year."
        )
    extra = {"lead_days": lead_days} if lead_days else {}
    return build_demo(config.region, config.year, config.profile, seed=config.seed, **extra)


def _load_demo(server, config: RunConfig) -> None:
    """Load the run's demo into ``server``, with its Sentinel-2 in the run's provider layout."""
    demo = demo_data(config)
    server.add_catalog(demo)
    if config.provider.demo_layout != "earth-search":
        server.add_catalog(demo.layout_catalog(config.provider.demo_layout))


def connect(config: RunConfig) -> StacSource:
    """Open the STAC API of a :class:`~cropkit.config.RunConfig`.

    With ``stac="demo"`` the demo is built (or taken from the cache) and served by a
    local stac-fastapi-pgstac (reused when the notebook runner already started one);
    ``stac="demo:<layout>"`` also serves its Sentinel-2 in that provider's layout.
    """
    provider = config.provider
    if config.is_demo:
        from .server import demo_api

        server = demo_api()
        _load_demo(server, config)
        url = server.url
    else:
        url = provider.url or config.stac
    client = open_api(url, provider)
    if provider.name == "custom":
        provider = discover_collections(provider, client)
    return StacSource(url=url, provider=provider, client=client)


@contextmanager
def shared_api(config: RunConfig | Iterable[RunConfig]) -> Iterator[dict[str, float]]:
    """One STAC API for every notebook of a run, while the ``with`` block lasts.

    For a demo run, starts a local stac-fastapi-pgstac loaded with the demo (and its
    provider layout) and exports its address (``CROPKIT_STAC_API``...) so that the
    notebooks' :func:`connect` reuse it; stops it and restores the environment after.
    A real provider needs nothing: the block runs as is. When the environment already
    names a running server (one that :func:`cropkit.face.reruns.rerun` shares between runs),
    the run's demo is loaded into it instead.

    Given several runs, their demos are all loaded into one API up front (runs in
    parallel then only read).

    Yields
    ------
    dict
        ``server_start`` and ``catalog_load`` seconds (empty for a real provider).
    """
    from .config import RunConfig

    configs = [config] if isinstance(config, RunConfig) else list(config)
    demos = [cfg for cfg in configs if cfg.is_demo]
    if len(demos) > 1:
        with shared_api(demos[0]) as timings:
            for cfg in demos[1:]:
                with shared_api(cfg):  # loads it into the shared API
                    pass
            yield timings
        return
    if not demos:
        yield {}
        return
    from .server import ENV_URL, LocalStacServer, demo_api

    if os.environ.get(ENV_URL):  # a server shared by the caller (cropkit rerun): load, reuse
        t0 = time.perf_counter()
        _load_demo(demo_api(), demos[0])
        yield {"catalog_load": round(time.perf_counter() - t0, 2)}
        return

    saved_env = dict(os.environ)
    try:
        with LocalStacServer() as api:
            t0 = time.perf_counter()
            _load_demo(api, demos[0])
            timings = {
                "server_start": api.timings["start_s"],
                "catalog_load": round(time.perf_counter() - t0, 2),
            }
            os.environ.update(api.export_env())
            yield timings
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
