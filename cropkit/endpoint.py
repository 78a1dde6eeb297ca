"""The one door to the demo: the only module that says "if demo: build and serve".

Everything else asks this module for a STAC source or for the demo's files of a run,
so a real provider and the embedded demo take the same path after it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .access.stac import StacSource, discover_collections, open_api
from .core.errors import ConfigError

if TYPE_CHECKING:
    from .config import RunConfig
    from .demo import DemoData

__all__ = ["connect", "demo_data", "shared_api"]


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
def shared_api(config: RunConfig) -> Iterator[dict[str, float]]:
    """One STAC API for every notebook of a run, while the ``with`` block lasts.

    For a demo run, starts a local stac-fastapi-pgstac loaded with the demo (and its
    provider layout) and exports its address (``CROPKIT_STAC_API``...) so that the
    notebooks' :func:`connect` reuse it; stops it and restores the environment after.
    A real provider needs nothing: the block runs as is. When the environment already
    names a running server (one that :func:`cropkit.face.reruns.rerun` shares between runs),
    the run's demo is loaded into it instead.

    Yields
    ------
    dict
        ``server_start`` and ``catalog_load`` seconds (empty for a real provider).
    """
    if not config.is_demo:
        yield {}
        return
    from .server import ENV_URL, LocalStacServer, demo_api

    if os.environ.get(ENV_URL):  # a server shared by the caller (cropkit rerun): load, reuse
        t0 = time.perf_counter()
        _load_demo(demo_api(), config)
        yield {"catalog_load": round(time.perf_counter() - t0, 2)}
        return

    saved_env = dict(os.environ)
    try:
        with LocalStacServer() as api:
            t0 = time.perf_counter()
            _load_demo(api, config)
            timings = {
                "server_start": api.timings["start_s"],
                "catalog_load": round(time.perf_counter() - t0, 2),
            }
            os.environ.update(api.export_env())
            yield timings
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
