"""Provider profiles: where a STAC API is, what it calls things, how it scales values.

Earth Search and Planetary Computer publish the same Sentinel-2 L2A products under
different asset keys (``red`` vs ``B04``, ``scl`` vs ``SCL``) and with different
conventions for the +1000 digital-number offset that ESA introduced with processing
baseline 04.00 (25 January 2022):

* Earth Search Collection 1 (``sentinel-2-c1-l2a``, the ``earth-search`` profile)
  describes it in each asset's ``raster:bands`` (``scale=0.0001, offset=-0.1``).
* Earth Search's older ``sentinel-2-l2a`` (``earth-search-l2a``) subtracted the offset
  from the pixels of some items, flagged ``earthsearch:boa_offset_applied: true``,
  while ``raster:bands`` says ``offset=-0.1`` on every item: honour the flag (and
  check the data, as the flag is known to be wrong on some items; see
  :func:`cropkit.access.reflectance_check.check_reflectance`).
* Planetary Computer leaves it to the user, who must read ``s2:processing_baseline``.

This module is the one place that knows these differences; the rest of cropkit speaks
ESA band names (``B02`` ... ``B12``, ``SCL``) and surface reflectance.

The embedded demo publishes its Sentinel-2 in each of these layouts: ``stac="demo"``
(Earth Search Collection 1), ``"demo:earth-search-l2a"`` and
``"demo:planetary-computer"`` take the path of the provider they name (see
:func:`demo_provider`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConfigError

__all__ = [
    "Provider",
    "PROVIDERS",
    "DEMO_LAYOUTS",
    "get_provider",
    "demo_provider",
    "offered_sensors",
    "SensorSkippedWarning",
    "SENSOR_NAMES",
    "S2_BAND_NAMES",
    "reflectance_scale_offset",
]

#: cropkit's Sentinel-2 band names, in wavelength order.
S2_BAND_NAMES = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")

_EARTH_SEARCH_S2 = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}
_PLANETARY_S2 = {name: name for name in (*S2_BAND_NAMES, "SCL")}


@dataclass(frozen=True)
class Provider:
    """How to talk to one STAC API.

    Attributes
    ----------
    name : str
        Profile name (``"earth-search"``, ``"planetary-computer"``, ``"demo"``).
    url : str or None
        Root of the STAC API (``None`` for the demo: known once its server runs).
    collections : dict
        cropkit sensor key (``"s2"``, ``"s1"``, ``"enmap"``) to collection id;
        missing sensors are not offered by the provider.
    assets : dict
        Per sensor, cropkit band name to the provider's asset key.
    offset_from : str
        ``"raster:bands"`` (scale and offset are in the asset metadata),
        ``"baseline"`` (derive them from ``s2:processing_baseline``) or
        ``"boa_offset_applied"`` (``raster:bands``, except no offset on items flagged
        ``earthsearch:boa_offset_applied``).
    signed : bool
        Whether asset URLs must be signed (Planetary Computer's SAS tokens).
    demo_layout : str or None
        For the embedded demo: the provider whose Sentinel-2 layout it serves
        (``None`` for a real provider).
    """

    name: str
    url: str | None
    collections: dict[str, str]
    assets: dict[str, dict[str, str]] = field(default_factory=dict)
    offset_from: str = "raster:bands"
    signed: bool = False
    demo_layout: str | None = None

    @property
    def is_demo(self) -> bool:
        """Whether this is the embedded demo (in any provider's layout)."""
        return self.demo_layout is not None

    def collection(self, sensor: str) -> str:
        """Collection id of ``sensor``; raises if the provider does not offer it."""
        if sensor not in self.collections:
            offered = ", ".join(self.collections) or "none"
            raise ConfigError(
                f"Provider {self.name!r} has no {sensor!r} collection (it offers: {offered}). "
                "Skip that sensor or use another provider."
            )
        return self.collections[sensor]

    def asset_key(self, sensor: str, band: str) -> str:
        """The provider's asset key of cropkit band ``band`` (e.g. ``B04`` -> ``red``)."""
        mapping = self.assets.get(sensor, {})
        if band not in mapping:
            raise ConfigError(f"Unknown {sensor} band {band!r}; choose from {sorted(mapping)}.")
        return mapping[band]

    def band_names(self, sensor: str) -> dict[str, str]:
        """Asset key -> cropkit band name, for renaming a loaded cube."""
        return {v: k for k, v in self.assets.get(sensor, {}).items()}

    def modifier(self):
        """pystac-client ``modifier`` that signs items, or ``None``."""
        if not self.signed:
            return None
        import planetary_computer

        return planetary_computer.sign_inplace


PROVIDERS: dict[str, Provider] = {
    "earth-search": Provider(
        name="earth-search",
        url="https://earth-search.aws.element84.com/v1",
        collections={"s2": "sentinel-2-c1-l2a"},
        assets={"s2": _EARTH_SEARCH_S2},
        offset_from="raster:bands",
    ),
    "earth-search-l2a": Provider(
        name="earth-search-l2a",
        url="https://earth-search.aws.element84.com/v1",
        collections={"s2": "sentinel-2-l2a"},
        assets={"s2": _EARTH_SEARCH_S2},
        offset_from="boa_offset_applied",
    ),
    "planetary-computer": Provider(
        name="planetary-computer",
        url="https://planetarycomputer.microsoft.com/api/stac/v1",
        collections={"s2": "sentinel-2-l2a", "s1": "sentinel-1-rtc"},
        assets={"s2": _PLANETARY_S2, "s1": {"VV": "vv", "VH": "vh"}},
        offset_from="baseline",
        signed=True,
    ),
}


#: The demo's collection of Earth Search's older layout. Planetary Computer's collection
#: has the same id (``sentinel-2-l2a``) and one API cannot serve both, so the demo
#: renames this one; its items follow Earth Search's layout.
DEMO_EARTH_SEARCH_L2A = "earth-search-sentinel-2-l2a"
#: Provider layouts the demo publishes its Sentinel-2 in (``stac="demo:<layout>"``).
DEMO_LAYOUTS = ("earth-search", "earth-search-l2a", "planetary-computer")
_DEMO_SENSORS = {
    "collections": {"s1": "sentinel-1-rtc", "enmap": "enmap-l2a"},
    "assets": {"s1": {"VV": "vv", "VH": "vh"}, "enmap": {"reflectance": "reflectance"}},
}


def demo_provider(layout: str = "earth-search", offer: str = "demo") -> Provider:
    """The embedded demo, serving its Sentinel-2 as provider ``layout`` does.

    Sentinel-2 is searched, named and scaled as ``layout`` publishes it (its collection,
    asset keys and offset convention); Sentinel-1 and EnMAP are the demo's own.

    Parameters
    ----------
    layout : str
        One of :data:`DEMO_LAYOUTS`.
    offer : {"demo", "provider"}
        ``"demo"``: every sensor the demo simulates (``stac="demo"``); ``"provider"``:
        only those ``layout``'s provider offers (``stac="demo:<layout>"``: Earth Search
        has Sentinel-2 alone, Planetary Computer Sentinel-2 and Sentinel-1), so a run
        shaped for that provider takes its path offline.

    Raises
    ------
    ConfigError
        For a layout the demo does not publish (see :data:`DEMO_LAYOUTS`).
    """
    if layout not in DEMO_LAYOUTS:
        raise ConfigError(
            f"The demo publishes no {layout!r} layout; choose stac='demo' or one of "
            f"{[f'demo:{name}' for name in DEMO_LAYOUTS]}."
        )
    real = PROVIDERS[layout]
    s2 = DEMO_EARTH_SEARCH_L2A if layout == "earth-search-l2a" else real.collections["s2"]
    others = _DEMO_SENSORS["collections"]
    if offer == "provider":
        others = {sensor: c for sensor, c in others.items() if sensor in real.collections}
    return Provider(
        name="demo" if offer == "demo" else f"demo-{layout}",
        url=None,
        collections={"s2": s2, **others},
        assets={"s2": real.assets["s2"], **_DEMO_SENSORS["assets"]},
        offset_from=real.offset_from,
        demo_layout=layout,
    )


PROVIDERS["demo"] = demo_provider()


def get_provider(name_or_url: str) -> Provider:
    """Return a provider profile by name, or a generic one for a STAC API URL.

    ``"demo"`` is the embedded demo in Earth Search's Collection 1 layout, with every
    sensor it simulates; ``"demo:<provider>"`` the demo as that provider publishes and
    offers it (see :func:`demo_provider`).

    A URL that is the root of a known provider gets that provider's profile; any other
    ``http(s)://`` URL is assumed to publish Earth Search-style Sentinel-2 items in a
    ``sentinel-2-l2a`` collection.

    Raises
    ------
    ConfigError
        If the value is neither a known name nor an http(s) URL.
    """
    key = str(name_or_url).strip()
    if key in PROVIDERS:
        return PROVIDERS[key]
    if key.startswith("demo:"):
        return demo_provider(key.partition(":")[2], offer="provider")
    if key.startswith(("http://", "https://")):
        for provider in PROVIDERS.values():
            if provider.url and key.rstrip("/") == provider.url.rstrip("/"):
                return provider
        es = PROVIDERS["earth-search"]
        return Provider("custom", key.rstrip("/"), es.collections, es.assets, "raster:bands")
    raise ConfigError(
        f"Unknown STAC provider {name_or_url!r}. Use one of {sorted(PROVIDERS)}, "
        f"{', '.join(f'demo:{name}' for name in DEMO_LAYOUTS[1:])} or the URL of a STAC API "
        "(https://...)."
    )


class SensorSkippedWarning(UserWarning):
    """A sensor the run's provider does not offer is left out (said, not an error)."""


#: What each sensor key stands for.
SENSOR_NAMES = {"s2": "Sentinel-2 L2A", "s1": "Sentinel-1 RTC", "enmap": "EnMAP L2A"}


def offered_sensors(provider: Provider, sensors: Iterable[str], without: str) -> list[str]:
    """The ``sensors`` that ``provider`` offers; each other one is left out, and said.

    Parameters
    ----------
    provider : Provider
        The run's provider.
    sensors : iterable of str
        Sensor keys (``"s2"``, ``"s1"``, ``"enmap"``).
    without : str
        What goes on without a missing sensor, for the note (``"the models train"``).

    Returns
    -------
    list of str
        The offered sensors, in the order given.

    Warns
    -----
    SensorSkippedWarning
        For each sensor left out, naming the providers that offer it.

    Raises
    ------
    ConfigError
        For a name that is no sensor.
    """
    out = []
    for sensor in sensors:
        if sensor not in SENSOR_NAMES:
            raise ConfigError(f"Unknown sensor {sensor!r}; the sensors are {list(SENSOR_NAMES)}.")
        if sensor in provider.collections:
            out.append(sensor)
            continue
        where = [name for name, p in PROVIDERS.items() if sensor in p.collections]
        warnings.warn(
            f"{provider.name!r} offers no {SENSOR_NAMES[sensor]}: {without} without it "
            f"(stac={' or '.join(map(repr, where))} has it).",
            SensorSkippedWarning,
            stacklevel=2,
        )
    return out


def _baseline_offset(properties: dict[str, Any]) -> float:
    baseline = str(properties.get("s2:processing_baseline", "00.00"))
    try:
        major = float(baseline)
    except ValueError as err:
        raise ConfigError(f"Cannot read s2:processing_baseline {baseline!r} as a number.") from err
    return -0.1 if major >= 4.0 else 0.0


def reflectance_scale_offset(item: Any, band: str, provider: Provider) -> tuple[float, float]:
    """Scale and offset that turn one band's digital numbers into reflectance.

    ``reflectance = DN * scale + offset``.

    Parameters
    ----------
    item : pystac.Item or dict
        A Sentinel-2 L2A item as the provider publishes it.
    band : str
        cropkit band name (``"B04"``).
    provider : Provider
        The item's provider.

    Returns
    -------
    tuple of float
        ``(scale, offset)``.
    """
    d = item if isinstance(item, dict) else item.to_dict(transform_hrefs=False)
    asset = d["assets"].get(provider.asset_key("s2", band))
    if asset is None:
        raise ConfigError(
            f"Item {d.get('id')!r} has no asset for band {band} ({provider.name} layout)."
        )
    properties = d.get("properties", {})
    if provider.offset_from in ("raster:bands", "boa_offset_applied"):
        rb = (asset.get("raster:bands") or [{}])[0]
        if "scale" in rb:
            scale, offset = float(rb["scale"]), float(rb.get("offset", 0.0))
            if provider.offset_from == "boa_offset_applied" and properties.get(
                "earthsearch:boa_offset_applied"
            ):
                offset = 0.0  # the -1000 is already in the pixels
            return scale, offset
    return 1e-4, _baseline_offset(properties)
