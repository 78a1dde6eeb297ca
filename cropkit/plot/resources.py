"""Where the plots' JavaScript comes from: inlined (works offline) or from CDNs.

bokeh, HoloViews/hvplot and folium/leafmap load their JavaScript and CSS from CDNs by
default, so a notebook opened offline, or its saved HTML report, shows blank plots.
cropkit inlines them instead (``"inline"``, the default): BokehJS and Panel's bundle
come from the installed ``bokeh`` and ``panel``, Leaflet from ``xstatic-leaflet``.
A map then carries Leaflet (about 160 kB) and a notebook BokehJS once (about 3 MB);
``"cdn"`` keeps the files small for a reader who is online.

The mode is read from ``CROPKIT_RESOURCES`` (``inline`` or ``cdn``), which ``cropkit
demo --resources cdn`` sets for its kernels, or set in a notebook with
:func:`use_resources` before the first plot.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from pathlib import Path

from ..core.errors import ConfigError

__all__ = ["MODES", "use_resources", "resources_mode", "holoviews_ready", "hvplot", "folium_map"]

#: The ways plots can get their JavaScript.
MODES = ("inline", "cdn")
_mode: str | None = None
_holoviews_loaded: str | None = None


def use_resources(mode: str = "inline") -> None:
    """Choose where the plots made from now on load their JavaScript from.

    Parameters
    ----------
    mode : {"inline", "cdn"}
        ``"inline"``: embedded in the notebook (renders offline); ``"cdn"``: links to
        the libraries' CDNs (smaller files, needs the internet to render).

    Raises
    ------
    ConfigError
        If ``mode`` is not one of :data:`MODES`.
    """
    global _mode
    _mode = _checked(mode, "use_resources(mode)")


def resources_mode() -> str:
    """The mode in force: :func:`use_resources`, else ``CROPKIT_RESOURCES``, else inline."""
    if _mode is not None:
        return _mode
    return _checked(os.environ.get("CROPKIT_RESOURCES", "inline"), "CROPKIT_RESOURCES")


def _checked(mode: str, where: str) -> str:
    value = str(mode).strip().lower()
    if value not in MODES:
        raise ConfigError(
            f"{where} is {mode!r}; it takes 'inline' (plots render offline) or 'cdn' "
            "(smaller notebooks, plots need the internet)."
        )
    return value


def holoviews_ready() -> None:
    """Load the bokeh backend of HoloViews once per kernel, in the mode in force.

    Plots made through :func:`hvplot` call it; call it before a HoloViews plot of your
    own. Importing ``hvplot.pandas`` or ``hvplot.xarray`` loads the backend again, from
    the CDN (hvplot does so in every cell that imports them).
    """
    global _holoviews_loaded
    mode = resources_mode()
    if _holoviews_loaded == mode:
        return
    import holoviews as hv
    import panel as pn

    pn.config.inline = mode == "inline"
    hv.extension("bokeh", inline=mode == "inline", logo=False)
    # a slider's frames go into the output itself, so a saved page (nbconvert, the
    # report) moves through them offline, without a kernel; the slider sits under the plot
    hv.output(widget_mode="embed", widget_location="bottom")
    _holoviews_loaded = mode


def hvplot(data):
    """The plotting interface of hvplot on pandas or xarray data: ``hvplot(frame).line()``.

    The same as the ``.hvplot`` accessor, without importing ``hvplot.pandas`` or
    ``hvplot.xarray``: those load the bokeh backend from the CDN again in every cell
    that imports them, whatever was loaded before. The backend is loaded once, in the
    mode in force (:func:`holoviews_ready`).

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, xarray.DataArray or xarray.Dataset
        What to plot.
    """
    holoviews_ready()
    import hvplot as hvp
    import xarray as xr

    if isinstance(data, (xr.DataArray, xr.Dataset)):
        return hvp.hvPlot(data)
    return hvp.hvPlotTabular(data)


def folium_map(center: tuple[float, float], zoom: int, height: str, basemap: str | None):
    """A leafmap (folium) map whose JavaScript follows the mode in force.

    Inline, the map loads Leaflet alone, embedded (folium's jQuery, Bootstrap and
    marker icons, which these maps do not use, are left out), and keeps only the
    controls Leaflet itself provides (layers, scale).

    Parameters
    ----------
    center : (float, float)
        Latitude and longitude of the centre.
    zoom : int
        Initial zoom level.
    height : str
        Height of the map (CSS).
    basemap : str or None
        A leafmap basemap name (``"OpenStreetMap"``), or ``None`` for none; tiles come
        from the internet whatever the mode.
    """
    import leafmap.foliumap as leafmap

    inline = resources_mode() == "inline"
    controls = dict.fromkeys(
        (
            "draw_control",
            "measure_control",
            "fullscreen_control",
            "locate_control",
            "minimap_control",
            "search_control",
            "toolbar_control",
            "latlon_control",
        ),
        not inline,
    )
    tiles = {} if basemap else {"tiles": None, "basemap": None}
    m = leafmap.Map(center=center, zoom=zoom, height=height, **controls, **tiles)
    if inline:
        js, css = _leaflet()
        m.default_js = [("leaflet", js)]
        m.default_css = [("leaflet_css", css)]
    return m


@functools.cache
def _leaflet() -> tuple[str, str]:
    """Leaflet's script and stylesheet (its images inlined) as ``data:`` URLs."""
    try:
        from xstatic.pkg import leaflet
    except ImportError as err:  # pragma: no cover - a dependency of cropkit
        raise ConfigError(
            "Inline maps need the xstatic-leaflet package: pip install xstatic-leaflet, "
            "or use_resources('cdn')."
        ) from err
    base = Path(leaflet.BASE_DIR)

    def image(match: re.Match) -> str:
        data = base64.b64encode((base / "images" / match.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", image, (base / "leaflet.css").read_text())
    return _data_url((base / "leaflet.js").read_bytes(), "text/javascript"), _data_url(
        css.encode(), "text/css"
    )


def _data_url(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"
