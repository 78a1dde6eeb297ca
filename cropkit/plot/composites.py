"""Plots of composites (notebook 03): sliders, crop curves, parcels, EnMAP spectra."""

from __future__ import annotations

from .masking import rgb
from .palette import class_colors
from .resources import folium_map, hvplot

#: Largest side, in pixels, of the frames a period slider embeds (see :func:`_slider_frames`).
SLIDER_SIDE = 400
#: How a slider's frames are drawn: square pixels, 500 px wide, no axes.
SLIDER_OPTIONS = {"data_aspect": 1, "frame_width": 500, "xaxis": None, "yaxis": None}


def _slider_frames(da, side: int = SLIDER_SIDE):
    """``da`` ``(period, ..., y, x)`` ready to embed frame by frame under a slider.

    Every frame is saved in the output (a saved page moves through them offline), so
    the frames are block averages of at most ``side`` pixels a side, in float32, computed
    at once (a lazy composite would be read again for every frame and every band).
    """
    import numpy as np

    factor = int(np.ceil(max(da.sizes["y"], da.sizes["x"]) / side))
    if factor > 1:
        da = da.coarsen(y=factor, x=factor, boundary="trim").mean()
    return da.astype("float32").compute()


def _period_slider(frames, draw):
    """A HoloMap of ``draw(frame, day)`` per period: a slider whose frames are all embedded.

    The periods stay dates (a slider, labelled by each period's first day, ``day``);
    string keys would make the widget a drop-down.

    (hvplot's own ``groupby=..., dynamic=False`` fails for RGB images.)
    """
    import holoviews as hv
    import pandas as pd

    periods = pd.DatetimeIndex(frames["period"].values)
    return hv.HoloMap(
        {p: draw(frames.sel(period=p), f"{p:%Y-%m-%d}") for p in periods},
        kdims=hv.Dimension("period", value_format=lambda p: f"{pd.Timestamp(p):%Y-%m-%d}"),
    )


def composite_rgb_slider(composite, gain: float = 3.5):
    """True-colour composites with a period slider whose frames are embedded (hvplot).

    Returns
    -------
    holoviews.HoloMap
        One RGB frame per period (:func:`_slider_frames`), the slider under it.
    """
    img = (composite["median"].sel(band=["B04", "B03", "B02"]) * gain).clip(0, 1)
    return _period_slider(
        _slider_frames(img),
        lambda frame, day: hvplot(frame).rgb(
            x="x", y="y", bands="band", title=f"Median composite, {day}", **SLIDER_OPTIONS
        ),
    )


def ndvi_slider(ndvi):
    """NDVI composites with a period slider whose frames are embedded (hvplot).

    Returns
    -------
    holoviews.HoloMap
        One NDVI frame per period (:func:`_slider_frames`), the slider under it.
    """
    return _period_slider(
        _slider_frames(ndvi),
        lambda frame, day: hvplot(frame).image(
            x="x", y="y", cmap="RdYlGn", clim=(0, 1), title=f"NDVI, {day}", **SLIDER_OPTIONS
        ),
    )


def crop_curves(profiles, ylabel: str = "NDVI", title: str = "Crop phenology"):
    """Median (line) and inter-quartile range (band) per crop over time (hvplot).

    Parameters
    ----------
    profiles : pandas.DataFrame
        From :func:`cropkit.compute.profiles.crop_profiles`.
    ylabel, title : str
        Axis label and title.
    """
    import holoviews as hv

    step = profiles.columns[0]
    colors = class_colors(profiles["crop"].unique())  # distinct hues for every crop
    overlay = []
    for crop, group in profiles.groupby("crop"):
        color = colors[str(crop)]
        overlay.append(
            hvplot(group).area(x=step, y="q25", y2="q75", alpha=0.15, label=crop, color=color)
        )
        overlay.append(hvplot(group).line(x=step, y="median", label=crop, color=color))
    return hv.Overlay(overlay).opts(
        width=900, height=420, legend_position="right", ylabel=ylabel, xlabel="", title=title
    )


def parcels_on_composite(
    composite,
    parcels,
    period,
    gain: float = 3.5,
    height: str = "500px",
    basemap: str | None = None,
):
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
    basemap : str, optional
        A leafmap basemap around the composite (``"OpenStreetMap"``); none by default.
    """
    import base64
    import io

    import folium
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
    m = folium_map(((s + n) / 2, (w + e) / 2), zoom=13, height=height, basemap=basemap)
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
    return hvplot(spectra).line(
        x="wavelength",
        y="reflectance",
        by="crop",
        width=900,
        height=400,
        xlabel="wavelength (nm)",
        ylabel="reflectance",
        title="EnMAP spectra per crop",
    )
