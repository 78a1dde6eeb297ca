"""Where the plots' JavaScript comes from: inline by default, CDNs on request."""

import base64
import re

import pandas as pd
import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import ConfigError
from cropkit.endpoint import open_source
from cropkit.plot import resources
from cropkit.plot.discovery import area_map


@pytest.fixture
def mode(monkeypatch):
    monkeypatch.setattr(resources, "_mode", None)
    monkeypatch.delenv("CROPKIT_RESOURCES", raising=False)
    return monkeypatch


def _external(html: str) -> list[str]:
    return re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"(https?://[^\"]+)", html)


def test_the_mode_comes_from_the_call_the_environment_or_the_default(mode):
    assert resources.resources_mode() == "inline"
    mode.setenv("CROPKIT_RESOURCES", "CDN")
    assert resources.resources_mode() == "cdn"
    resources.use_resources("inline")
    assert resources.resources_mode() == "inline"
    with pytest.raises(ConfigError, match=r"use_resources\(mode\) is 'offline'; it takes 'inline'"):
        resources.use_resources("offline")
    mode.setattr(resources, "_mode", None)
    mode.setenv("CROPKIT_RESOURCES", "local")
    with pytest.raises(ConfigError, match=r"CROPKIT_RESOURCES is 'local'"):
        resources.resources_mode()


def test_an_inline_map_loads_nothing_from_the_internet(mode):
    html = area_map(RunConfig(), basemap=open_source(RunConfig()).basemap).get_root().render()
    assert _external(html) == []
    assert html.count("data:text/javascript;base64,") == 1  # Leaflet, embedded once
    assert "tile.openstreetmap.org" not in html  # the demo is simulated: no basemap
    css = re.search(r'href="data:text/css;base64,([^"]+)"', html).group(1)
    css = base64.b64decode(css).decode()
    assert ".leaflet-container" in css and "url(images/" not in css  # its icons inlined too
    assert css.count("url(data:image/png;base64,") >= 3


def test_a_cdn_map_links_leaflet_and_a_real_area_gets_a_basemap(mode):
    resources.use_resources("cdn")
    cfg = RunConfig(aoi="1.516,48.3917,1.5797,48.4105", stac="earth-search")
    html = area_map(cfg, basemap=open_source(cfg).basemap).get_root().render()
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in _external(html)
    assert "tile.openstreetmap.org" in html


def test_hvplot_plots_without_the_accessor_modules(mode):
    import sys

    for name in ("hvplot.pandas", "hvplot.xarray"):
        sys.modules.pop(name, None)
    plot = resources.hvplot(pd.DataFrame({"a": [1.0, 2.0, 3.0]})).line()
    assert type(plot).__name__ == "Curve"
    assert "hvplot.pandas" not in sys.modules and "hvplot.xarray" not in sys.modules
