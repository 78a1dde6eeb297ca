"""Plot helpers for the notebooks: maps (leafmap) and interactive charts (hvplot).

Each helper returns what it drew (a map or a HoloViews object) and never shows it
itself, so notebooks display it and a static export keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pystac
from shapely.geometry import shape

from .stac import items_table

__all__ = ["area_map", "cloud_cover_timeline", "footprints"]

_COLORS = {"sentinel-2-l2a": "#1f77b4", "sentinel-1-rtc": "#d62728", "enmap-l2a": "#2ca02c"}


def area_map(config, height: str = "450px"):
    """An interactive map of the study area and its zones (leafmap, folium backend).

    Returns
    -------
    leafmap.foliumap.Map
    """
    import leafmap.foliumap as leafmap

    w, s, e, n = config.bbox
    m = leafmap.Map(center=((s + n) / 2, (w + e) / 2), zoom=12, height=height)
    m.add_gdf(
        config.grid.zones_frame().to_crs(4326),
        layer_name="zones",
        style={"color": "#ff7f0e", "fillOpacity": 0.05},
        zoom_to_layer=True,
        info_mode=None,
    )
    return m


def footprints(collections: Mapping[str, pystac.ItemCollection], config, height: str = "450px"):
    """Map the footprints of searched items over the study area.

    Parameters
    ----------
    collections : mapping
        Label -> item collection.
    config : cropkit.config.RunConfig
        For the study area.
    height : str
        Height of the map (CSS).
    """
    m = area_map(config, height=height)
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
    import hvplot.pandas  # noqa: F401  (registers .hvplot)

    table = items_table(items).reset_index()
    plot = table.hvplot.scatter(
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


# -- cloud masking (notebook 02) -----------------------------------------------------------

#: Colours of the SCL classes (close to ESA's legend).
SCL_COLORS = {
    0: "#000000",
    1: "#ff0000",
    2: "#2f2f2f",
    3: "#643200",
    4: "#00a000",
    5: "#ffe65a",
    6: "#0000ff",
    7: "#808080",
    8: "#c0c0c0",
    9: "#ffffff",
    10: "#64c8ff",
    11: "#ff96ff",
}


def scl_breakdown(breakdown):
    """Stacked bars of the SCL class shares per date (hvplot).

    Parameters
    ----------
    breakdown : xarray.DataArray
        From :func:`cropkit.cloudmask.class_breakdown`, dims ``(time, scl_class)``.
    """
    import hvplot.pandas  # noqa: F401

    frame = breakdown.to_pandas()
    frame.columns = [f"{c} {breakdown['scl_name'].values[i]}" for i, c in enumerate(frame.columns)]
    return frame.hvplot.bar(
        stacked=True,
        rot=90,
        width=900,
        height=350,
        legend="right",
        ylabel="share of the area",
        xlabel="",
        title="Scene classification per date",
        color=list(SCL_COLORS.values()),
    )


def rgb(cube, gain: float = 3.5):
    """``(band, y, x)`` reflectance with B04, B03, B02 -> ``(y, x, 3)`` display RGB in 0-1."""
    import numpy as np

    stack = cube.sel(band=["B04", "B03", "B02"]).transpose("y", "x", "band").values
    return np.clip(np.nan_to_num(stack) * gain, 0, 1)


def scene_and_mask(s2, when, axes=None):
    """A date's true-colour image beside its SCL and its clear mask (matplotlib).

    Parameters
    ----------
    s2 : cropkit.workflow.MaskedS2
        The masked cube.
    when : str or datetime-like
        Date to show (the nearest acquisition).
    axes : sequence of three matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    numpy.ndarray
        The three Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    scene = s2.reflectance.sel(time=when, method="nearest")
    day = str(scene["time"].values)[:10]
    axes[0].imshow(rgb(scene.compute()))
    axes[0].set_title(f"{day}: true colour")
    cmap = ListedColormap(list(SCL_COLORS.values()))
    axes[1].imshow(
        s2.scl.sel(time=when, method="nearest"),
        cmap=cmap,
        vmin=-0.5,
        vmax=11.5,
        interpolation="nearest",
    )
    axes[1].set_title("scene classification (SCL)")
    axes[2].imshow(
        s2.clear.sel(time=when, method="nearest"),
        cmap="gray",
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    axes[2].set_title("clear mask (white = kept)")
    for ax in axes:
        ax.set_axis_off()
    return axes


def clear_fraction_timeline(fraction):
    """Clear share of the area per date (hvplot), from :func:`~cropkit.cloudmask.clear_fraction`."""
    import hvplot.pandas  # noqa: F401

    frame = fraction.to_pandas().rename("clear share").to_frame()
    return frame.hvplot.line(
        y="clear share",
        width=900,
        height=280,
        ylim=(0, 1.02),
        xlabel="",
        title="Clear share of the study area per acquisition",
    ) * frame.hvplot.scatter(y="clear share", size=30)


def raster(image, title: str, cmap: str = "viridis", clim=None):
    """An interactive ``(y, x)`` raster (hvplot image, equal aspect)."""
    import hvplot.xarray  # noqa: F401

    return image.hvplot.image(
        x="x",
        y="y",
        cmap=cmap,
        clim=clim,
        title=title,
        data_aspect=1,
        frame_width=500,
        rasterize=False,
        xaxis=None,
        yaxis=None,
    )


# -- composites (notebook 03) --------------------------------------------------------------


def composite_rgb_slider(composite, gain: float = 3.5):
    """True-colour composites with a period slider (hvplot)."""
    import hvplot.xarray  # noqa: F401

    img = (composite["median"].sel(band=["B04", "B03", "B02"]) * gain).clip(0, 1)
    return img.hvplot.rgb(
        x="x",
        y="y",
        bands="band",
        groupby="period",
        data_aspect=1,
        frame_width=500,
        xaxis=None,
        yaxis=None,
        title="Monthly median composite",
    )


def ndvi_slider(ndvi):
    """NDVI composites with a period slider (hvplot)."""
    import hvplot.xarray  # noqa: F401

    return ndvi.hvplot.image(
        x="x",
        y="y",
        groupby="period",
        cmap="RdYlGn",
        clim=(0, 1),
        data_aspect=1,
        frame_width=500,
        xaxis=None,
        yaxis=None,
        title="NDVI",
    )


def crop_curves(profiles, ylabel: str = "NDVI", title: str = "Crop phenology"):
    """Median (line) and inter-quartile range (band) per crop over time (hvplot).

    Parameters
    ----------
    profiles : pandas.DataFrame
        From :func:`cropkit.profiles.crop_profiles`.
    ylabel, title : str
        Axis label and title.
    """
    import holoviews as hv
    import hvplot.pandas  # noqa: F401

    step = profiles.columns[0]
    overlay = []
    for crop, group in profiles.groupby("crop"):
        overlay.append(group.hvplot.area(x=step, y="q25", y2="q75", alpha=0.15, label=crop))
        overlay.append(group.hvplot.line(x=step, y="median", label=crop))
    return hv.Overlay(overlay).opts(
        width=900, height=420, legend_position="right", ylabel=ylabel, xlabel="", title=title
    )


def parcels_on_composite(composite, parcels, period, gain: float = 3.5, height: str = "500px"):
    """The parcels over one period's true-colour composite on a leafmap map.

    Parameters
    ----------
    composite : xarray.Dataset
        With ``median`` ``(period, band, y, x)`` and a ``crs`` attribute.
    parcels : geopandas.GeoDataFrame
        Parcels (``ID_PARCEL``, ``CODE_CULTU``, ``tier4``).
    period : str or datetime-like
        Which period to show.
    gain : float
        Brightness multiplier of the true-colour image.
    height : str
        Height of the map (CSS).
    """
    import base64
    import io

    import folium
    import leafmap.foliumap as leafmap
    import matplotlib.pyplot as plt
    from pyproj import Transformer

    img = rgb(composite["median"].sel(period=period, method="nearest").compute(), gain)
    buf = io.BytesIO()
    plt.imsave(buf, img, format="png")
    x, y = composite["x"].values, composite["y"].values
    half = abs(float(x[1] - x[0])) / 2
    to_ll = Transformer.from_crs(composite.attrs["crs"], 4326, always_xy=True)
    w, s, e, n = to_ll.transform_bounds(
        x.min() - half, y.min() - half, x.max() + half, y.max() + half
    )
    m = leafmap.Map(center=((s + n) / 2, (w + e) / 2), zoom=13, height=height)
    folium.raster_layers.ImageOverlay(
        image="data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(),
        bounds=[[s, w], [n, e]],
        name="composite",
        opacity=1.0,
    ).add_to(m)
    cols = [c for c in ("ID_PARCEL", "CODE_CULTU", "tier4") if c in parcels.columns]
    m.add_gdf(
        parcels[[*cols, "geometry"]].to_crs(4326),
        layer_name="parcels",
        style={"color": "#ffff00", "weight": 1, "fillOpacity": 0.0},
        zoom_to_layer=True,
    )
    return m


def enmap_spectra(spectra):
    """Mean EnMAP reflectance spectrum per crop (hvplot), from a tidy frame.

    Parameters
    ----------
    spectra : pandas.DataFrame
        Columns ``wavelength`` (nm), ``crop``, ``reflectance``.
    """
    import hvplot.pandas  # noqa: F401

    return spectra.hvplot.line(
        x="wavelength",
        y="reflectance",
        by="crop",
        width=900,
        height=400,
        xlabel="wavelength (nm)",
        ylabel="reflectance",
        title="EnMAP spectra per crop",
    )


_SPLIT_COLORS = {"unused": "#f0f0f0", "train": "#1f77b4", "val": "#ff7f0e", "test": "#d62728"}


def class_balance(tables):
    """Labelled pixels per class and split side, one panel per tier.

    Parameters
    ----------
    tables : mapping
        Tier -> table from :func:`cropkit.splits.split_summary` (classes x train/val/test).

    Returns
    -------
    holoviews.Layout
        Horizontal stacked bars, log-free so the imbalance shows.
    """
    import holoviews as hv
    import hvplot.pandas  # noqa: F401  (registers .hvplot)

    panels = [
        table.hvplot.barh(
            stacked=True,
            title=f"{tier}: {len(table)} classes",
            xlabel="",
            ylabel="labelled pixels",
            color=[_SPLIT_COLORS[c] for c in table.columns],
            height=max(180, 22 * len(table)),
            width=420,
            legend="bottom_right",
        )
        for tier, table in tables.items()
    ]
    return hv.Layout(panels).cols(2)


def split_map(split, title: str = "spatial split"):
    """Map of a split layer: train, validation, test and unused pixels.

    Parameters
    ----------
    split : xarray.DataArray
        Split codes ``(y, x)`` from :mod:`cropkit.splits`.
    title : str
        Plot title.

    Returns
    -------
    holoviews.Image
    """
    import hvplot.xarray  # noqa: F401

    colors = list(_SPLIT_COLORS.values())
    return split.astype("float32").hvplot.image(
        x="x",
        y="y",
        cmap=colors,
        clim=(-1.5, 2.5),
        colorbar=True,
        data_aspect=1,
        frame_width=520,
        title=f"{title}: blue train, orange validation, red test, grey unused",
        rasterize=False,
    )


def confusion_matrix(confusion, normalize: bool = True, ax=None, title: str = ""):
    """Confusion matrix heatmap (rows: reference, columns: prediction).

    Parameters
    ----------
    confusion : pandas.DataFrame
        Counts from :class:`cropkit.metrics.ClassificationReport`.
    normalize : bool
        Show each row as shares of its reference pixels (the diagonal is recall).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import numpy as np

    rows = confusion.loc[confusion.sum(axis=1) > 0]
    values = rows.to_numpy(dtype=float)
    if normalize:
        values = values / values.sum(axis=1, keepdims=True)
    if ax is None:
        size = 0.45 * len(confusion.columns) + 2.5
        _, ax = plt.subplots(figsize=(size + 1.5, 0.45 * len(rows) + 2))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(np.arange(len(rows.columns)), rows.columns, rotation=60, ha="right")
    ax.set_yticks(np.arange(len(rows.index)), rows.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    for (i, j), v in np.ndenumerate(values):
        if v >= (0.01 if normalize else 1):
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > 0.6 * values.max() else "black",
            )
    ax.figure.colorbar(
        image, ax=ax, fraction=0.04, label="share of reference" if normalize else "pixels"
    )
    ax.set_title(
        title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix")
    )
    return ax


def per_class_scores(per_class, title: str = "per-class F1"):
    """F1 per class (bars), with the number of reference pixels in the hover.

    Parameters
    ----------
    per_class : pandas.DataFrame
        Classes as index, one column per model or input set (or the ``per_class`` table
        of a report: its ``f1`` column is used).
    title : str
        Plot title.

    Returns
    -------
    holoviews.Bars
    """
    import hvplot.pandas  # noqa: F401

    table = per_class[["f1"]] if "f1" in per_class.columns else per_class
    long = table.reset_index(names="class").melt(id_vars="class", var_name="set", value_name="F1")
    return long.hvplot.bar(
        x="class", y="F1", by="set", rot=60, ylim=(0, 1), height=340, width=760, title=title
    )
