"""Write simulated acquisitions as Cloud-Optimized GeoTIFFs and STAC items.

Asset hrefs are relative to the item (``./B04.tif``): the catalog is self-contained
and can be moved or served. Items follow the providers' published layouts so that the
demo takes the user's code path:

* ``sentinel-2-c1-l2a``: Earth Search Collection 1 layout: one COG per band with
  asset keys ``blue, green, red, rededge1-3, nir, nir08, swir16, swir22, scl``; digital
  numbers carry the +1000 offset of processing baseline >= 04.00, undone by
  ``raster:bands`` ``scale=0.0001, offset=-0.1``. A demo-only asset ``cloud_truth``
  holds the true sky condition. :mod:`cropkit.demo.layouts` republishes these items in
  the other providers' layouts.
* ``sentinel-1-rtc``: Planetary Computer style: ``vv`` and ``vh`` linear γ⁰ float32.
* ``enmap-l2a``: one 224-band COG of surface reflectance (``scale=0.0001``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pystac
import rasterio
import shapely
from pyproj import Transformer
from rasterio import features
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from ..core.regions import Region, SceneGrid
from .spectra import S2_BANDS, enmap_bands

__all__ = ["write_cog", "s2_item", "s1_item", "enmap_item", "collections"]

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
S2_OFFSET_DN = 1000
S2_BASELINE = "05.09"

_S1_TITLES = {
    "vv": "VV: vertical transmit, vertical receive",
    "vh": "VH: vertical transmit, horizontal receive",
}
_S2_TITLES = {
    "B02": "Blue (band 2) - 10m",
    "B03": "Green (band 3) - 10m",
    "B04": "Red (band 4) - 10m",
    "B05": "Red Edge 1 (band 5) - 20m",
    "B06": "Red Edge 2 (band 6) - 20m",
    "B07": "Red Edge 3 (band 7) - 20m",
    "B08": "NIR 1 (band 8) - 10m",
    "B8A": "NIR 2 (band 8A) - 20m",
    "B11": "SWIR 1 (band 11) - 20m",
    "B12": "SWIR 2 (band 12) - 20m",
}


def write_cog(path: Path, data: np.ndarray, transform, epsg: int, nodata: float | None) -> None:
    """Write ``(band, y, x)`` or ``(y, x)`` ``data`` as a deflate-compressed COG."""
    data = data[None] if data.ndim == 2 else data
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(
        driver="COG",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype.name,
        crs=f"EPSG:{epsg}",
        transform=transform,
        nodata=nodata,
        compress="DEFLATE",
        predictor=2 if data.dtype.kind in "iu" else 3,
        blocksize=256,
        overview_resampling="average" if data.dtype.kind == "f" else "nearest",
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def _footprint(valid: np.ndarray, transform, epsg: int) -> dict:
    """Lon/lat polygon of the valid pixels (simplified)."""
    shapes = [
        shape(g) for g, v in features.shapes(valid.astype("uint8"), transform=transform) if v == 1
    ]
    geom = unary_union(shapes).simplify(20)  # every scene keeps part of its swath
    to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
    return mapping(
        shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    )


def _proj(grid_transform, shape_: tuple[int, int]) -> dict:
    return {
        "proj:shape": [int(v) for v in shape_],
        "proj:transform": [float(v) for v in list(grid_transform)[:6]],
    }


def _item(item_id: str, geometry: dict, when: dt.datetime, props: dict, epsg: int) -> pystac.Item:
    geom = shape(geometry)
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=list(geom.bounds),
        datetime=when,
        properties={**props, "proj:epsg": epsg},
        stac_extensions=[
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
    )
    return item


def s2_item(
    folder: Path,
    region: Region,
    grid: SceneGrid,
    when: dt.datetime,
    platform: str,
    relative_orbit: int,
    scene,
) -> pystac.Item:
    """Write one Sentinel-2 acquisition's COGs into ``folder`` and return its STAC item.

    Parameters
    ----------
    folder : pathlib.Path
        Collection folder; the item's files go to ``folder / item_id``.
    region : Region
        Gives the MGRS tile.
    grid : SceneGrid
        The scene's 10 m grid.
    when : datetime.datetime
        Acquisition time (UTC).
    platform : str
        ``"sentinel-2a"`` ... ``"sentinel-2c"``.
    relative_orbit : int
        Relative orbit number.
    scene : cropkit.demo.scene.S2Scene
        The rendered acquisition.
    """
    tile = region.mgrs_tile
    item_id = f"S2{platform[-1].upper()}_T{tile}_{when:%Y%m%dT%H%M%S}_L2A"
    t20, s20 = grid.at_resolution(20)
    props = {
        "platform": platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": float(scene.cloud_cover),
        "s2:mgrs_tile": tile,
        "mgrs:utm_zone": int(tile[:2]),
        "mgrs:latitude_band": tile[2],
        "mgrs:grid_square": tile[3:],
        "grid:code": f"MGRS-{tile}",
        "s2:processing_baseline": S2_BASELINE,
        "s2:product_type": "S2MSI2A",
        "sat:relative_orbit": int(relative_orbit),
        "s2:nodata_pixel_percentage": round(float(100 * (1 - scene.valid.mean())), 2),
        "s2:product_uri": f"S2{platform[-1].upper()}_MSIL2A_{when:%Y%m%dT%H%M%S}_N"
        f"{S2_BASELINE.replace('.', '')}_R{int(relative_orbit):03d}_T{tile}.SAFE",
        "created": (when + dt.timedelta(hours=6)).isoformat(),
        "cropkit:simulated": True,
    }
    item = _item(
        item_id, _footprint(scene.valid, grid.transform, grid.epsg), when, props, grid.epsg
    )
    item_dir = folder / item_id
    for band, row in S2_BANDS.iterrows():
        refl = scene.reflectance[S2_BANDS.index.get_loc(band)]
        if row.gsd == 20:
            h, w = s20
            refl = refl[: h * 2, : w * 2].reshape(h, 2, w, 2).mean(axis=(1, 3))
        dn = np.where(
            np.isfinite(refl), np.clip(np.round(refl * 10000) + S2_OFFSET_DN, 1, 65535), 0
        )
        transform = grid.transform if row.gsd == 10 else t20
        path = item_dir / f"{band}.tif"
        write_cog(path, dn.astype(np.uint16), transform, grid.epsg, nodata=0)
        shape_ = dn.shape
        item.add_asset(
            row.common_name,
            pystac.Asset(
                href=f"./{path.name}",
                media_type=COG_TYPE,
                title=_S2_TITLES[band],
                roles=["data", "reflectance"],
                extra_fields={
                    "eo:bands": [
                        {
                            "name": row.common_name,
                            "common_name": row.common_name,
                            "center_wavelength": round(float(row.center_nm) / 1000, 4),
                            "full_width_half_max": round(float(row.fwhm_nm) / 1000, 4),
                        }
                    ],
                    "gsd": int(row.gsd),
                    **_proj(transform, shape_),
                    "raster:bands": [
                        {
                            "nodata": 0,
                            "data_type": "uint16",
                            "bits_per_sample": 15,
                            "spatial_resolution": int(row.gsd),
                            "scale": 0.0001,
                            "offset": -0.1,
                        }
                    ],
                },
            ),
        )
    write_cog(item_dir / "SCL.tif", scene.scl, t20, grid.epsg, nodata=0)
    item.add_asset(
        "scl",
        pystac.Asset(
            href="./SCL.tif",
            media_type=COG_TYPE,
            title="Scene classification map (SCL)",
            roles=["data"],
            extra_fields={
                **_proj(t20, scene.scl.shape),
                "raster:bands": [{"nodata": 0, "data_type": "uint8", "spatial_resolution": 20}],
            },
        ),
    )
    write_cog(item_dir / "cloud_truth.tif", scene.truth, grid.transform, grid.epsg, nodata=255)
    item.add_asset(
        "cloud_truth",
        pystac.Asset(
            href="./cloud_truth.tif",
            media_type=COG_TYPE,
            title="True sky condition (simulation only): "
            "0 clear, 1 cloud, 2 thin cloud, 3 cirrus, 4 shadow, 5 snow",
            roles=["truth"],
            extra_fields={
                **_proj(grid.transform, scene.truth.shape),
                "raster:bands": [{"nodata": 255, "data_type": "uint8", "spatial_resolution": 10}],
            },
        ),
    )
    return item


def s1_item(
    folder: Path,
    region: Region,
    grid: SceneGrid,
    when: dt.datetime,
    acq,
    bands: dict[str, np.ndarray],
) -> pystac.Item:
    """Write one Sentinel-1 RTC acquisition (Planetary Computer layout)."""
    unit = acq.platform[-1].upper()
    item_id = f"S1{unit}_IW_GRDH_1SDV_{when:%Y%m%dT%H%M%S}_{region.mgrs_tile}_rtc"
    props = {
        "platform": acq.platform,
        "constellation": "Sentinel-1",
        "instruments": ["c-sar"],
        "sar:instrument_mode": "IW",
        "sar:frequency_band": "C",
        "sar:center_frequency": 5.405,
        "sar:polarizations": ["VV", "VH"],
        "sar:product_type": "GRD",
        "sar:observation_direction": "right",
        "sat:orbit_state": acq.orbit_state,
        "sat:relative_orbit": int(acq.relative_orbit),
        "s1:incidence_angle": float(acq.incidence_deg),
        "cropkit:simulated": True,
    }
    valid = np.ones(grid.shape, dtype=bool)
    item = _item(item_id, _footprint(valid, grid.transform, grid.epsg), when, props, grid.epsg)
    item.stac_extensions.append("https://stac-extensions.github.io/sar/v1.0.0/schema.json")
    for pol, data in bands.items():
        path = folder / item_id / f"{pol}.tif"
        write_cog(path, data, grid.transform, grid.epsg, nodata=-32768)
        item.add_asset(
            pol,
            pystac.Asset(
                href=f"./{path.name}",
                media_type=COG_TYPE,
                title=_S1_TITLES[pol],
                roles=["data"],
                extra_fields={
                    **_proj(grid.transform, data.shape),
                    "raster:bands": [
                        {
                            "nodata": -32768,
                            "data_type": "float32",
                            "spatial_resolution": 10,
                            "scale": 1.0,
                            "offset": 0.0,
                        }
                    ],
                },
            ),
        )
    return item


def enmap_item(
    folder: Path,
    region: Region,
    grid: SceneGrid,
    when: dt.datetime,
    reflectance: np.ndarray,
    cloud_cover: float,
) -> pystac.Item:
    """Write one EnMAP L2A acquisition (224-band COG, 30 m)."""
    item_id = f"ENMAP01-L2A-{region.mgrs_tile}_{when:%Y%m%dT%H%M%S}Z"
    t30, s30 = grid.at_resolution(30)
    props = {
        "platform": "enmap",
        "instruments": ["hsi"],
        "eo:cloud_cover": float(cloud_cover),
        "gsd": 30,
        "cropkit:simulated": True,
    }
    valid = np.ones(s30, dtype=bool)
    item = _item(item_id, _footprint(valid, t30, grid.epsg), when, props, grid.epsg)
    dn = np.where(
        np.isfinite(reflectance), np.clip(np.round(reflectance * 10000), -32767, 32767), -32768
    )
    path = folder / item_id / "SPECTRAL_IMAGE.tif"
    write_cog(path, dn.astype(np.int16), t30, grid.epsg, nodata=-32768)
    eb = enmap_bands()
    item.add_asset(
        "reflectance",
        pystac.Asset(
            href=f"./{path.name}",
            media_type=COG_TYPE,
            title="Surface reflectance (VNIR + SWIR, 224 bands)",
            roles=["data", "reflectance"],
            extra_fields={
                **_proj(t30, s30),
                "gsd": 30,
                "eo:bands": [
                    {
                        "name": b,
                        "center_wavelength": round(float(r.center_nm) / 1000, 5),
                        "full_width_half_max": round(float(r.fwhm_nm) / 1000, 5),
                    }
                    for b, r in eb.iterrows()
                ],
                "raster:bands": [
                    {
                        "nodata": -32768,
                        "data_type": "int16",
                        "scale": 0.0001,
                        "offset": 0.0,
                        "spatial_resolution": 30,
                    }
                ]
                * len(eb),
            },
        ),
    )
    return item


def collections() -> dict[str, dict]:
    """Fields of the three demo collections, with the ids the providers use."""
    described = {
        "sentinel-2-c1-l2a": (
            "Sentinel-2 Collection 1 L2A",
            "Sentinel-2 Level-2A surface reflectance (simulated, Earth Search Collection 1 "
            "layout).",
        ),
        "sentinel-1-rtc": (
            "Sentinel-1 RTC",
            "Sentinel-1 radiometrically terrain-corrected backscatter "
            "(simulated, Planetary Computer layout).",
        ),
        "enmap-l2a": ("EnMAP L2A", "EnMAP Level-2A hyperspectral surface reflectance (simulated)."),
    }
    return {
        cid: {
            "title": title,
            "description": text,
            "license": "CC-BY-4.0",
            "keywords": ["cropkit", "simulated", "demo"],
        }
        for cid, (title, text) in described.items()
    }
