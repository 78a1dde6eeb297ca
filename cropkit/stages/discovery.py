"""Notebook 01's stage: the run's items, as notebook 01 recorded them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pystac

from ..access.stac import StacSource
from ..core.errors import DataError
from ..core.run import RunFolder

if TYPE_CHECKING:
    from ..config import RunConfig

__all__ = ["run_items"]


def run_items(
    source: StacSource, run: RunFolder, config: RunConfig, sensor: str
) -> pystac.ItemCollection:
    """The run's items of ``sensor``, fetched fresh from ``source``.

    Uses the ids that notebook 01 recorded in the manifest; when it has not run,
    searches now (with the run's area, season and cloud limit) and records the ids.

    Parameters
    ----------
    source : StacSource
        The run's STAC API (:func:`cropkit.endpoint.connect`).
    run : RunFolder
        The run folder.
    config : RunConfig
        The run.
    sensor : str
        ``"s2"``, ``"s1"`` or ``"enmap"``.

    Returns
    -------
    pystac.ItemCollection
        Items in time order.
    """
    try:
        ids = run.item_ids(sensor)
    except DataError:
        max_cloud = None if sensor == "s1" else config.max_cloud
        items = source.search(sensor, config.bbox, config.growing_season, max_cloud=max_cloud)
        run.add_items(sensor, [it.id for it in items])
        return items
    return source.fetch(sensor, ids)
