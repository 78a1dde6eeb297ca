"""French RPG parcels for a study area from IGN's public WFS service (Géoplateforme).

The anonymised Registre Parcellaire Graphique is published per year as the WFS layer
``RPG.<year>:parcelles_graphiques`` (fields ``id_parcel``, ``surf_parc``,
``code_cultu``, ``code_group``, ...). :func:`fetch_rpg` pages through a bounding-box
query as GeoJSON and returns the parcels with cropkit's column names, ready for
:func:`cropkit.compute.labels.check_parcels`. Save them (``to_parquet``) and pass the file as
``parcels_path`` so a rerun does not query the service again.

Examples
--------
>>> parcels = fetch_rpg((1.40, 48.40, 1.50, 48.46), 2023)   # doctest: +SKIP
>>> parcels.to_parquet("runs/chartres-2023/rpg.parquet")   # doctest: +SKIP
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import requests

from ..core.errors import DataError, ServiceConnectionError

__all__ = ["IGN_WFS", "fetch_rpg", "rpg_layer"]

#: IGN Géoplateforme WFS endpoint.
IGN_WFS = "https://data.geopf.fr/wfs/ows"
#: WFS field -> cropkit column.
COLUMNS = {
    "id_parcel": "ID_PARCEL",
    "code_cultu": "CODE_CULTU",
    "code_group": "CODE_GROUP",
    "surf_parc": "SURF_PARC",
}


def rpg_layer(year: int) -> str:
    """WFS type name of the RPG of ``year`` (published from 2015 on)."""
    if year < 2015:
        raise DataError(f"The RPG has crop types per parcel from 2015 on, not for {year}.")
    return f"RPG.{year}:parcelles_graphiques"


def fetch_rpg(
    bbox: tuple[float, float, float, float],
    year: int,
    url: str = IGN_WFS,
    page_size: int = 1000,
    max_features: int = 100_000,
    timeout: float = 60.0,
) -> gpd.GeoDataFrame:
    """Download the RPG parcels that intersect ``bbox``.

    Parameters
    ----------
    bbox : tuple of float
        ``(west, south, east, north)`` in degrees (e.g. ``RunConfig.bbox``).
    year : int
        RPG year.
    url : str
        WFS endpoint (IGN's by default).
    page_size : int
        Features per request (the service caps it, 5000 at most at IGN).
    max_features : int
        Stop with an error beyond this many parcels (the area is too large).
    timeout : float
        Seconds per request.

    Returns
    -------
    geopandas.GeoDataFrame
        ``ID_PARCEL``, ``CODE_CULTU``, ``CODE_GROUP``, ``SURF_PARC`` and the polygons
        in EPSG:4326.

    Raises
    ------
    ServiceConnectionError
        If the service cannot be reached or answers with an error.
    DataError
        If the answer is not GeoJSON, lacks the RPG fields, holds no parcel, or exceeds
        ``max_features``.
    """
    west, south, east, north = bbox
    params = {
        "SERVICE": "WFS",
        "VERSION": "2.0.0",
        "REQUEST": "GetFeature",
        "TYPENAMES": rpg_layer(year),
        "OUTPUTFORMAT": "application/json",
        "SRSNAME": "EPSG:4326",
        # WFS 2.0 with an EPSG URN takes latitude first
        "BBOX": f"{south},{west},{north},{east},urn:ogc:def:crs:EPSG::4326",
        "COUNT": page_size,
        "SORTBY": "id_parcel",
    }
    frames, start = [], 0
    while True:  # until an empty page: the service may cap pages below page_size
        page = _get_page(url, {**params, "STARTINDEX": start}, timeout)
        if page.empty:
            break
        frames.append(page)
        start += len(page)
        if start > max_features:
            raise DataError(
                f"More than {max_features} RPG parcels in {bbox}: use a smaller area or raise "
                "max_features."
            )
    if not frames:
        raise DataError(f"The RPG {year} has no parcel in {bbox} ({url}).")
    parcels = pd.concat(frames, ignore_index=True)
    missing = sorted(set(COLUMNS) - set(parcels.columns))
    if missing:
        raise DataError(
            f"The WFS answer lacks the RPG fields {missing} (fields: {list(parcels.columns)}); "
            f"is {rpg_layer(year)} the RPG parcel layer?"
        )
    parcels = parcels.rename(columns=COLUMNS)
    keep = [*COLUMNS.values(), "geometry"]
    return gpd.GeoDataFrame(parcels[keep], geometry="geometry", crs="EPSG:4326")


def _get_page(url: str, params: dict, timeout: float) -> gpd.GeoDataFrame:
    try:
        response = requests.get(url, params=params, timeout=timeout)
    except requests.RequestException as err:
        raise ServiceConnectionError(f"Could not reach the WFS service at {url}: {err}") from err
    if response.status_code != 200:
        raise ServiceConnectionError(
            f"The WFS service at {url} answered HTTP {response.status_code}: {response.text[:300]}"
        )
    try:
        features = response.json().get("features", [])
    except ValueError as err:
        raise DataError(
            f"The WFS service at {url} did not answer GeoJSON: {response.text[:300]}"
        ) from err
    if not features:
        return gpd.GeoDataFrame()
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
