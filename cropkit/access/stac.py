"""STAC searches with clear errors, the same way against the demo and real providers.

:func:`open_api` opens a STAC API (:func:`cropkit.endpoint.connect` opens the one of a
run, starting the local demo API when ``stac="demo"``); :meth:`StacSource.search` returns a
:class:`pystac.ItemCollection` sorted by time; :func:`items_table` turns one into a
:class:`pandas.DataFrame`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd
import pystac
import pystac_client
import requests
from pystac_client.errors import ClientTypeError
from pystac_client.exceptions import APIError

from ..core.errors import (
    ConfigError,
    DataError,
    EmptySearchError,
    StacConnectionError,
    StacSearchError,
)
from ..core.run import load_items, save_items  # re-exported: item files are run-folder I/O
from ..core.seasons import Season, season_for
from ..core.studyarea import normalize_bbox  # re-exported: a search checks its box
from .providers import PROVIDERS, Provider, get_provider

__all__ = [
    "StacSource",
    "discover_collections",
    "open_api",
    "normalize_bbox",
    "items_table",
    "save_items",
    "load_items",
]

#: cropkit sensor keys and what they are.
SENSORS = {"s2": "Sentinel-2 L2A", "s1": "Sentinel-1 RTC", "enmap": "EnMAP L2A"}


def open_api(url: str, provider: Provider | None = None) -> pystac_client.Client:
    """Open a STAC API, turning connection failures into :class:`StacConnectionError`."""
    provider = provider or get_provider(url)
    unreachable = (
        f"Could not reach the STAC API at {url}. Check the URL and your network, or run "
        "with stac='demo' to use the local simulated catalog."
    )
    try:
        client = pystac_client.Client.open(url, modifier=provider.modifier(), timeout=30)
    except APIError as err:
        if getattr(err, "status_code", None) is None:  # no answer at all
            raise StacConnectionError(f"{unreachable} ({err})") from err
        raise StacConnectionError(
            f"The STAC API at {url} answered HTTP {err.status_code}: {err}. Check the URL."
        ) from err
    except (ClientTypeError, pystac.STACError, ValueError) as err:
        raise StacConnectionError(
            f"{url} answered, but not as a STAC API ({type(err).__name__}: {err}). "
            "Give the root URL of a STAC API (its landing page lists 'conformsTo')."
        ) from err
    except (requests.RequestException, OSError) as err:
        raise StacConnectionError(f"{unreachable} ({type(err).__name__}: {err})") from err
    if not client.has_conforms_to() and client.get_single_link("search") is None:
        raise StacConnectionError(
            f"{url} is a static STAC catalog (JSON files, no search endpoint), and cropkit "
            "searches STAC APIs. Give the URL of the API that serves these items "
            "(stac='earth-search', a provider's API URL), or serve the catalog through a "
            "local API: `with cropkit.server.LocalStacServer() as api: "
            "api.add_catalog('catalog.json')`, then stac=api.url."
        )
    return client


@dataclass
class StacSource:
    """An opened STAC API and its provider profile.

    Attributes
    ----------
    url : str
        Root URL.
    provider : Provider
        Naming and scaling conventions of the API.
    client : pystac_client.Client
        The open client.
    """

    url: str
    provider: Provider
    client: pystac_client.Client

    def search(
        self,
        sensor: str,
        bbox: Sequence[float],
        year: int | Season | None = None,
        datetime: str | None = None,
        max_cloud: float | None = None,
        max_items: int = 2000,
    ) -> pystac.ItemCollection:
        """Search one sensor's collection over a box and a year.

        Parameters
        ----------
        sensor : str
            ``"s2"``, ``"s1"`` or ``"enmap"``.
        bbox : sequence of float
            ``(west, south, east, north)`` in degrees.
        year : int or Season, optional
            A calendar year or a :class:`~cropkit.core.seasons.Season` (or give ``datetime``).
        datetime : str, optional
            A STAC datetime interval, e.g. ``"2023-04-01/2023-09-30"``.
        max_cloud : float, optional
            Keep items with ``eo:cloud_cover`` below it (not applied to SAR).
        max_items : int
            Upper bound on the number of items returned.

        Returns
        -------
        pystac.ItemCollection
            Items sorted by acquisition time.

        Raises
        ------
        EmptySearchError
            When nothing matches; the message repeats the query and what to relax.
        """
        if sensor not in SENSORS:
            raise ConfigError(f"Unknown sensor {sensor!r}; choose from {sorted(SENSORS)}.")
        collection = self.provider.collection(sensor)
        bbox = normalize_bbox(bbox)
        if datetime is None:
            if year is None:
                raise ConfigError("Give a year or a datetime interval to search.")
            datetime = (year if isinstance(year, Season) else season_for(int(year))).datetime
        query = {}
        if max_cloud is not None and sensor != "s1":
            query["eo:cloud_cover"] = {"lt": float(max_cloud)}
        try:
            search = self.client.search(
                collections=[collection],
                bbox=bbox,
                datetime=datetime,
                query=query or None,
                max_items=max_items,
                limit=min(max_items, 250),
            )
            items = list(search.items())
        except (APIError, requests.RequestException) as err:
            raise StacSearchError(
                f"The search of {collection!r} at {self.url} failed: {err}"
            ) from err
        if not items:
            raise EmptySearchError(
                f"No {SENSORS[sensor]} item in collection {collection!r} at {self.url} "
                f"for bbox={bbox}, datetime={datetime}, query={query}: "
                f"{self._why_empty(collection, bbox, datetime, query)}"
            )
        earliest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        items.sort(key=lambda it: (it.datetime or earliest, it.id))
        return pystac.ItemCollection(items)

    def _why_empty(self, collection: str, bbox, datetime: str, query: dict) -> str:
        """What the search found after all, and which limit to relax."""

        def count(**relaxed) -> int:
            try:
                search = self.client.search(
                    collections=[collection], bbox=bbox, max_items=1, limit=1, **relaxed
                )
                return len(list(search.items()))
            except (APIError, requests.RequestException):
                return 0

        if query and count(datetime=datetime):
            return (
                "the area has items in these dates, all cloudier than the limit. Raise max_cloud."
            )
        if count():
            return (
                "the collection covers this area, but not in these dates. Widen the dates or "
                "check the season and year."
            )
        return (
            "the collection has no item over this area at any date (over the sea, or "
            "outside the provider's coverage?). Check the area (its coordinates are "
            "west, south, east, north in degrees) and that the area is covered by this "
            "collection."
        )

    def fetch(self, sensor: str, ids: Sequence[str]) -> pystac.ItemCollection:
        """Fetch items by id from this API (fresh, signed hrefs), in time order.

        Notebooks store item ids in the run folder and fetch the items again: asset
        URLs of the local demo API change from one server to the next, and Planetary
        Computer's signed URLs expire.

        Raises
        ------
        DataError
            If some ids are not found (the message names them).
        """
        collection = self.provider.collection(sensor)
        ids = list(ids)
        found: list[pystac.Item] = []
        for start in range(0, len(ids), 100):
            search = self.client.search(
                collections=[collection], ids=ids[start : start + 100], limit=100
            )
            found.extend(search.items())
        missing = sorted(set(ids) - {it.id for it in found})
        if missing:
            raise DataError(
                f"{len(missing)} {sensor} items of the run are not in {collection!r} at "
                f"{self.url}: {', '.join(missing[:5])}. Rerun notebook 01 to search again."
            )
        earliest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        found.sort(key=lambda it: (it.datetime or earliest, it.id))
        return pystac.ItemCollection(found)

    def search_all(
        self, bbox: Sequence[float], year: int | Season, max_cloud: float | None = None
    ) -> dict[str, pystac.ItemCollection]:
        """Search every sensor the provider offers (Sentinel-2, Sentinel-1, EnMAP).

        Returns
        -------
        dict
            Sensor key -> items, for the sensors this provider has.
        """
        return {
            sensor: self.search(sensor, bbox, year, max_cloud=max_cloud)
            for sensor in SENSORS
            if sensor in self.provider.collections
        }


def discover_collections(provider: Provider, client: pystac_client.Client) -> Provider:
    """Offer the sensors whose usual collection ids a custom STAC API serves.

    Looks for ``sentinel-2-c1-l2a`` or ``sentinel-2-l2a`` (read in Earth Search's
    layout), ``sentinel-1-rtc`` and ``enmap-l2a`` among the API's collections.
    """
    served = {c.id for c in client.get_collections()}
    demo = PROVIDERS["demo"]
    usual = {
        "s2": ("sentinel-2-c1-l2a", "sentinel-2-l2a"),
        "s1": ("sentinel-1-rtc",),
        "enmap": ("enmap-l2a",),
    }
    found = {
        sensor: next(cid for cid in ids if cid in served)
        for sensor, ids in usual.items()
        if served.intersection(ids)
    }
    if not found:
        known = ", ".join(cid for ids in usual.values() for cid in ids)
        raise StacSearchError(
            f"The STAC API at {provider.url} serves none of the collections cropkit knows "
            f"({known}); it serves: {', '.join(sorted(served)) or 'none'}."
        )
    assets = {sensor: demo.assets[sensor] for sensor in found}
    return replace(provider, collections=found, assets=assets)


def items_table(items: pystac.ItemCollection | Sequence[pystac.Item]) -> pd.DataFrame:
    """One row per item: id, time, collection, platform, cloud cover, orbit, assets.

    ``orbit`` is the orbit direction of radar items and the relative orbit number of
    optical ones.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``id``, sorted by ``datetime`` (empty, with the same columns, for
        no items).
    """
    columns = ["id", "datetime", "collection", "platform", "eo:cloud_cover", "orbit", "assets"]
    rows = []
    for it in items:
        p = it.properties
        rows.append(
            {
                "id": it.id,
                "datetime": pd.Timestamp(it.datetime),
                "collection": it.collection_id,
                "platform": p.get("platform"),
                "eo:cloud_cover": p.get("eo:cloud_cover"),
                "orbit": str(p.get("sat:orbit_state") or p.get("sat:relative_orbit") or ""),
                "assets": len(it.assets),
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values("datetime").set_index("id")
