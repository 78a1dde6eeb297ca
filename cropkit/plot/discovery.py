"""Plots of STAC discovery (notebook 01): the study area, footprints, cloud cover."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import pystac
from shapely.geometry import shape

from ..access.stac import items_table
from .resources import folium_map, hvplot

if TYPE_CHECKING:
    from ..config import RunConfig

_COLORS = {
    "sentinel-2-c1-l2a": "#1f77b4",
    "sentinel-2-l2a": "#1f77b4",
    "sentinel-1-rtc": "#d62728",
    "enmap-l2a": "#2ca02c",
}


def area_map(config: RunConfig, height: str = "450px", basemap: str | None = "OpenStreetMap"):
    """An interactive map of the study area and its zones (leafmap, folium backend).

    Parameters
    ----------
    config : cropkit.config.RunConfig
        For the study area and its zones.
    height : str
        Height of the map (CSS).
    basemap : str or None
        A leafmap basemap, ``None`` for none: pass the run source's
        (:attr:`cropkit.endpoint.RunSource.basemap`), none over a simulated landscape
        where real fields under it would mislead.

    Returns
    -------
    leafmap.foliumap.Map
    """
    w, s, e, n = config.bbox
    m = folium_map(((s + n) / 2, (w + e) / 2), zoom=12, height=height, basemap=basemap)
    m.add_gdf(
        config.grid.zones_frame().to_crs(4326),
        layer_name="zones",
        style={"color": "#ff7f0e", "fillOpacity": 0.05},
        zoom_to_layer=True,
        info_mode=None,
    )
    return m


def footprints(
    collections: Mapping[str, pystac.ItemCollection],
    config: RunConfig,
    height: str = "450px",
    basemap: str | None = "OpenStreetMap",
):
    """Map the footprints of searched items over the study area.

    Parameters
    ----------
    collections : mapping
        Label -> item collection.
    config : cropkit.config.RunConfig
        For the study area.
    height : str
        Height of the map (CSS).
    basemap : str or None
        As in :func:`area_map`.
    """
    m = area_map(config, height=height, basemap=basemap)
    for label, items in collections.items():
        frame = (
            gpd.GeoDataFrame(
                {"id": [it.id for it in items], "datetime": [str(it.datetime) for it in items]},
                geometry=[shape(it.geometry) for it in items],
                crs=4326,
            )
            .dissolve()
            .reset_index(drop=True)
        )
        color = _COLORS.get(items[0].collection_id if len(items) else "", "#9467bd")
        m.add_gdf(
            frame[["geometry"]],
            layer_name=f"{label} footprints ({len(items)})",
            style={"color": color, "fillOpacity": 0.08, "weight": 2},
            info_mode=None,
            zoom_to_layer=False,
        )
    return m


def cloud_cover_timeline(items: pystac.ItemCollection, max_cloud: float | None = None):
    """Scatter of ``eo:cloud_cover`` against time (hvplot), one colour per platform.

    Returns
    -------
    holoviews.Overlay
    """
    table = items_table(items).reset_index()
    plot = hvplot(table).scatter(
        x="datetime",
        y="eo:cloud_cover",
        by="platform",
        hover_cols=["id"],
        size=60,
        ylabel="cloud cover (%)",
        xlabel="",
        title="Sentinel-2 cloud cover per acquisition",
        ylim=(-2, 102),
        width=800,
        height=300,
    )
    if max_cloud is not None:
        import holoviews as hv

        plot = plot * hv.HLine(max_cloud).opts(color="grey", line_dash="dashed")
    return plot
