"""The demo's Sentinel-2, republished in the layouts of other providers.

The simulator writes Sentinel-2 once, in Earth Search's Collection 1 layout
(``sentinel-2-c1-l2a``). This module publishes the same acquisitions as two other
providers do, so that ``stac="demo:<layout>"`` takes each provider's code path:

* ``planetary-computer``: collection ``sentinel-2-l2a``, asset keys ``B02`` ... ``B12``
  and ``SCL``, no ``raster:bands`` scale or offset: the reader must derive the -1000 of
  processing baseline >= 04.00 from ``s2:processing_baseline``. The assets point to the
  Collection 1 files (same digital numbers).
* ``earth-search-l2a``: Earth Search's older ``sentinel-2-l2a`` (served as
  :data:`~cropkit.access.providers.DEMO_EARTH_SEARCH_L2A`, since Planetary Computer's collection
  has the same id). Every asset says ``offset=-0.1`` in ``raster:bands``, but items
  acquired from 1 July on were reprocessed with the offset already subtracted from their
  pixels and flagged ``earthsearch:boa_offset_applied: true``, and one of them carries
  the wrong flag (``false``), as happened with published items: its reflectance comes
  out 0.1 too dark unless the data are checked.

Layout catalogs are written on first use, next to the demo's catalog
(``layouts/<layout>/catalog.json``), and reused.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import rasterio

from ..access.providers import DEMO_EARTH_SEARCH_L2A, DEMO_LAYOUTS, PROVIDERS, S2_BAND_NAMES
from ..access.static_catalog import read_static_catalog, write_static_catalog
from ..core.errors import ConfigError
from .catalog import S2_OFFSET_DN, write_cog

__all__ = ["layout_catalog", "planetary_computer_item", "earth_search_l2a_item", "offset_applied"]

_C1 = PROVIDERS["earth-search"]
_C1_COLLECTION = _C1.collections["s2"]


def layout_catalog(root: Path, layout: str) -> Path:
    """The ``catalog.json`` of the demo built in ``root``, in provider ``layout``.

    ``"earth-search"`` is the demo's own catalog (Sentinel-1 and EnMAP included); the
    others hold only Sentinel-2 and are written on first use.

    Raises
    ------
    ConfigError
        For a layout the demo does not publish.
    """
    if layout not in DEMO_LAYOUTS:
        raise ConfigError(f"The demo publishes no {layout!r} layout; choose one of {DEMO_LAYOUTS}.")
    if layout == "earth-search":
        return root / "catalog.json"
    final = root / "layouts" / layout
    if not (final / "catalog.json").exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{layout}-", dir=final.parent))  # same depth
        try:
            _write_layout(root, layout, tmp)
            os.replace(tmp, final)
        except OSError:
            if not (final / "catalog.json").exists():  # another process did not win the race
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "catalog.json"


def _write_layout(root: Path, layout: str, folder: Path) -> None:
    catalog = read_static_catalog(root / "catalog.json")
    collection, items = next((c, its) for c, its in catalog if c["id"] == _C1_COLLECTION)
    applied = offset_applied(items)
    if layout == "planetary-computer":
        cid, title = "sentinel-2-l2a", "Planetary Computer layout"
        out = [planetary_computer_item(it, folder / cid) for it in items]
    else:
        cid, title = DEMO_EARTH_SEARCH_L2A, "Earth Search's older sentinel-2-l2a layout"
        out = [earth_search_l2a_item(it, folder / cid, *applied[it["id"]]) for it in items]
    fields = {k: collection[k] for k in ("license", "keywords") if k in collection}
    fields["title"] = "Sentinel-2 L2A"
    fields["description"] = f"Sentinel-2 Level-2A surface reflectance (simulated, {title})."
    write_static_catalog(
        folder,
        {
            "id": f"cropkit-demo-{layout}",
            "title": f"cropkit demo · Sentinel-2 in the {layout} layout",
            "description": f"The demo's Sentinel-2 acquisitions, in the {title}.",
        },
        {cid: (fields, out)},
    )


def offset_applied(items: list[dict]) -> dict[str, tuple[bool, bool]]:
    """Per item id, whether the older Earth Search layout subtracted the offset, and its flag.

    Items acquired from 1 July of the last year on are reprocessed (offset in the
    pixels, flag ``true``); the clearest of them keeps a wrong ``false`` flag.

    Returns
    -------
    dict
        Item id -> ``(applied, flag)``.
    """
    last_year = max(_when(it).year for it in items)
    reprocessed = [it for it in items if _when(it) >= dt.datetime(last_year, 7, 1, tzinfo=dt.UTC)]
    wrong = min(reprocessed, key=lambda it: it["properties"]["eo:cloud_cover"])["id"]
    out = {it["id"]: (False, False) for it in items}
    out.update({it["id"]: (True, it["id"] != wrong) for it in reprocessed})
    return out


def _when(item: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(item["properties"]["datetime"].replace("Z", "+00:00"))


def _relative(href: str, item_dir: Path) -> str:
    return Path(os.path.relpath(href, item_dir)).as_posix()


def planetary_computer_item(item: dict, folder: Path) -> dict:
    """``item`` (Collection 1 layout) as Planetary Computer publishes Sentinel-2 L2A.

    Parameters
    ----------
    item : dict
        A demo item with absolute asset hrefs (as :func:`read_static_catalog` gives).
    folder : pathlib.Path
        Collection folder the new item will be written in (its hrefs are relative).
    """
    props = item["properties"]
    when, letter = _when(item), props["platform"][-1].upper()
    created = dt.datetime.fromisoformat(props["created"])
    tile = props["grid:code"].removeprefix("MGRS-")
    orbit = int(props["sat:relative_orbit"])
    new_id = f"S2{letter}_MSIL2A_{when:%Y%m%dT%H%M%S}_R{orbit:03d}_T{tile}_{created:%Y%m%dT%H%M%S}"
    item_dir = folder / new_id
    assets = {}
    for band in (*S2_BAND_NAMES, "SCL"):
        src = item["assets"][_C1.asset_key("s2", band)]
        asset = {
            "href": _relative(src["href"], item_dir),
            "type": src["type"],
            "title": f"Band {band[1:]} - {src['title']}" if band != "SCL" else src["title"],
            "roles": ["data"],
            "proj:shape": src["proj:shape"],
            "proj:transform": src["proj:transform"],
        }
        if band != "SCL":
            eo = dict(src["eo:bands"][0], name=band)
            asset.update({"gsd": float(src["gsd"]), "eo:bands": [eo]})
        assets[band] = asset
    truth = dict(item["assets"]["cloud_truth"])
    assets["cloud_truth"] = {**truth, "href": _relative(truth["href"], item_dir)}
    properties = {
        "datetime": props["datetime"],
        "platform": f"Sentinel-2{letter}",
        "proj:epsg": props["proj:epsg"],
        "instruments": ["msi"],
        "s2:mgrs_tile": tile,
        "constellation": "Sentinel 2",
        "eo:cloud_cover": props["eo:cloud_cover"],
        "sat:orbit_state": "descending",
        "s2:product_uri": props["s2:product_uri"],
        "s2:product_type": props["s2:product_type"],
        "sat:relative_orbit": orbit,
        "s2:processing_baseline": props["s2:processing_baseline"],
        "s2:nodata_pixel_percentage": props["s2:nodata_pixel_percentage"],
        "cropkit:simulated": True,
    }
    return {**_frame(item), "id": new_id, "properties": properties, "assets": assets}


def earth_search_l2a_item(item: dict, folder: Path, applied: bool, flag: bool) -> dict:
    """``item`` as Earth Search's older ``sentinel-2-l2a`` published it.

    Parameters
    ----------
    item : dict
        A demo item with absolute asset hrefs.
    folder : pathlib.Path
        Collection folder the new item will be written in.
    applied : bool
        Write its bands again with the +1000 removed from the digital numbers.
    flag : bool
        Its ``earthsearch:boa_offset_applied`` (wrong when it differs from ``applied``).
    """
    props = item["properties"]
    when = _when(item)
    tile = props["grid:code"].removeprefix("MGRS-")
    new_id = f"S2{props['platform'][-1].upper()}_{tile}_{when:%Y%m%d}_0_L2A"
    item_dir = folder / new_id
    assets = {}
    for key, src in item["assets"].items():
        asset = dict(src, href=_relative(src["href"], item_dir))
        if applied and "reflectance" in src.get("roles", []):
            asset["href"] = f"./{Path(src['href']).name}"
            _write_offset_applied(Path(src["href"]), item_dir / Path(src["href"]).name)
        assets[key] = asset
    properties = {**props, "earthsearch:boa_offset_applied": flag}
    return {**_frame(item), "id": new_id, "properties": properties, "assets": assets}


def _write_offset_applied(src: Path, dst: Path) -> None:
    with rasterio.open(src) as ds:
        dn = ds.read(1)
        transform, epsg = ds.transform, ds.crs.to_epsg()
    out = np.where(dn > 0, np.maximum(dn.astype(np.int32) - S2_OFFSET_DN, 1), 0)
    write_cog(dst, out.astype(np.uint16), transform, epsg, nodata=0)


def _frame(item: dict) -> dict:
    keep = ("type", "stac_version", "stac_extensions", "geometry", "bbox")
    return {k: item[k] for k in keep if k in item}
