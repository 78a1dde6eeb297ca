"""Parcel labels: read and check parcel files, rasterize them per taxonomy tier.

Parcels come from any vector file GeoPandas reads (GeoParquet, GeoPackage, Shapefile,
GeoJSON) with a French RPG crop code column (``CODE_CULTU``). They are checked
(invalid and empty geometries repaired or dropped, codes missing from the taxonomy
reported and counted), reprojected to the grid's CRS and burnt with
``rasterio.features`` into one label layer per tier plus a parcel-id layer. An inward
buffer drops mixed border pixels; a minimum area drops slivers.

Examples
--------
>>> parcels, report = read_parcels("rpg_2023.gpkg")          # doctest: +SKIP
>>> layers = rasterize_labels(parcels, composite, buffer_m=10)  # doctest: +SKIP
>>> layers["tier4"].shape                                     # doctest: +SKIP
(256, 512)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from shapely import make_valid

from ..core.errors import DataError, TaxonomyError
from ..core.regions import SceneGrid
from ..core.taxonomy import TIERS, Taxonomy, load_taxonomy
from .profiles import burn, grid_crs

__all__ = [
    "ParcelReport",
    "read_parcels",
    "check_parcels",
    "within_grid",
    "rasterize_labels",
    "mark_crop_change",
    "NO_LABEL",
    "UNKNOWN_CHANGE",
]

#: Label value of pixels outside every (kept) parcel.
NO_LABEL = -1

#: ``changed`` value of a pixel whose parcel's crop of the year before is unknown.
UNKNOWN_CHANGE = -1


@dataclass
class ParcelReport:
    """What :func:`check_parcels` found and did.

    Attributes
    ----------
    total : int
        Parcels read.
    repaired : int
        Invalid geometries made valid.
    dropped_empty : int
        Parcels without a usable polygon (empty, or not a polygon after repair).
    unknown_codes : dict
        Crop code -> number of parcels whose code is not in the taxonomy (dropped).
    kept : int
        Parcels left.
    """

    total: int = 0
    repaired: int = 0
    dropped_empty: int = 0
    unknown_codes: dict[str, int] = field(default_factory=dict)
    kept: int = 0

    def __str__(self) -> str:
        unknown = sum(self.unknown_codes.values())
        codes = ", ".join(f"{c}: {n}" for c, n in sorted(self.unknown_codes.items())) or "none"
        return (
            f"{self.kept} of {self.total} parcels kept; {self.repaired} geometries repaired, "
            f"{self.dropped_empty} empty dropped, {unknown} with codes missing from the taxonomy "
            f"dropped ({codes})"
        )


def read_parcels(
    path: str | Path, code_column: str = "CODE_CULTU", taxonomy: Taxonomy | None = None
) -> tuple[gpd.GeoDataFrame, ParcelReport]:
    """Read a parcel file and check it (see :func:`check_parcels`).

    Raises
    ------
    DataError
        If the file does not exist or cannot be read as vector data.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"Parcel file {path} does not exist.")
    formats = (
        "cropkit reads parcels from vector files: GeoPackage (.gpkg), GeoParquet (.parquet), "
        "Shapefile (.shp), GeoJSON (.geojson) or FlatGeobuf (.fgb)"
    )
    try:
        frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    except Exception as err:  # the readers raise many types; name the file and the cause
        raise DataError(
            f"Could not read parcels from {path}: {type(err).__name__}: {err}. {formats}."
        ) from err
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame:
        kind = "A CSV file has" if path.suffix.lower() in (".csv", ".txt") else "It has"
        raise DataError(
            f"{path} holds a table without geometry (columns {list(frame.columns)[:12]}). "
            f"{kind} no parcel polygons: {formats}. Join the table to the parcel polygons "
            "(by their parcel id) and save that as a GeoPackage."
        )
    if len(frame) == 0:
        raise DataError(
            f"{path} holds no parcel (0 rows): check that it is the right file, or that its "
            "layer is the parcels (geopandas.list_layers)."
        )
    try:
        return check_parcels(frame, code_column, taxonomy)
    except DataError as err:
        raise type(err)(f"{path}: {err}") from err


def check_parcels(
    parcels: gpd.GeoDataFrame, code_column: str = "CODE_CULTU", taxonomy: Taxonomy | None = None
) -> tuple[gpd.GeoDataFrame, ParcelReport]:
    """Repair or drop bad geometries, map codes to the four tiers, report what was dropped.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Parcels with a crop code column and a CRS.
    code_column : str
        Name of the RPG crop code column.
    taxonomy : Taxonomy, optional
        cropkit's table by default.

    Returns
    -------
    parcels : geopandas.GeoDataFrame
        The kept parcels, with columns ``tier4`` ... ``tier1`` added.
    report : ParcelReport
        Counts of what was repaired and dropped (also issued as a warning when
        anything was dropped).

    Raises
    ------
    DataError
        If the code column or the CRS is missing, or no parcel is left.
    """
    taxonomy = taxonomy or load_taxonomy()
    if code_column not in parcels.columns:
        raise DataError(
            f"The parcels have no {code_column!r} column (columns: {list(parcels.columns)}); "
            "pass code_column= to name the crop code column."
        )
    if parcels.crs is None:
        raise DataError(
            "The parcels have no CRS; set it with parcels.set_crs(...) before using them."
        )
    report = ParcelReport(total=len(parcels))
    frame = parcels.copy()
    present = ~frame.geometry.isna()
    invalid = ~frame.geometry.is_valid & ~frame.geometry.is_empty & present
    report.repaired = int(invalid.sum())
    if report.repaired:
        frame.loc[invalid, "geometry"] = frame.geometry[invalid].apply(make_valid)
    polygonal = present & ~frame.geometry.is_empty
    polygonal &= frame.geometry.geom_type.isin(["Polygon", "MultiPolygon", "GeometryCollection"])
    frame.loc[polygonal, "geometry"] = frame.geometry[polygonal].apply(_polygons_only)
    polygonal &= ~frame.geometry.is_empty
    report.dropped_empty = int((~polygonal).sum())
    frame = frame[polygonal]
    codes = frame[code_column].astype(str)
    known = codes.isin(taxonomy.table.index)
    report.unknown_codes = codes[~known].value_counts().to_dict()
    frame = frame[known].copy()
    for tier in TIERS:
        frame[tier] = frame[code_column].astype(str).map(taxonomy.table[tier])
    report.kept = len(frame)
    if report.kept == 0:
        raise DataError(f"No usable parcel left: {report}.")
    if report.kept < report.total or report.repaired:  # a repair changes a parcel: say so
        warnings.warn(str(report), UserWarning, stacklevel=2)
    return frame.reset_index(drop=True), report


def within_grid(parcels: gpd.GeoDataFrame, grid: SceneGrid) -> gpd.GeoDataFrame:
    """The parcels that reach a study area's grid; the others are dropped with a warning.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Checked parcels (any CRS).
    grid : cropkit.core.regions.SceneGrid
        The study area.

    Raises
    ------
    DataError
        If no parcel reaches the area (another region's file, or a file in a wrong CRS).
    """
    from shapely.geometry import box

    area = gpd.GeoSeries([box(*grid.bounds)], crs=grid.epsg).to_crs(parcels.crs).iloc[0]
    inside = parcels.geometry.intersects(area)
    if not inside.any():
        extent = ", ".join(f"{v:.4f}" for v in grid.lonlat_bounds())
        theirs = ", ".join(f"{v:.4f}" for v in parcels.to_crs(4326).total_bounds)
        raise DataError(
            f"The parcels do not overlap the study area: none of the {len(parcels)} parcels "
            f"reaches it. Study area: ({extent}); parcels: ({theirs}) (west, south, east, "
            "north in lon/lat). Is the parcel file of another region, or its CRS wrong "
            f"(read as {parcels.crs.to_string()})?"
        )
    if not inside.all():
        warnings.warn(
            f"{int((~inside).sum())} of {len(parcels)} parcels lie outside the study area "
            "and were left out.",
            UserWarning,
            stacklevel=2,
        )
    return parcels[inside].reset_index(drop=True)


def _polygons_only(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    from shapely.geometry import MultiPolygon

    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
    return MultiPolygon(polys) if polys else MultiPolygon()


def mark_crop_change(
    parcels: gpd.GeoDataFrame,
    previous: pd.Series | pd.DataFrame,
    id_column: str = "ID_PARCEL",
) -> gpd.GeoDataFrame:
    """Mark the parcels whose crop changed from the year before.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        This year's checked parcels (with ``tier4``, :func:`check_parcels`).
    previous : pandas.Series or pandas.DataFrame
        Last year's crops: a Series parcel id -> tier-4 crop (a demo's
        ``truth().set_index("ID_PARCEL")["previous"]``), or last year's checked parcel
        file (its ``tier4`` by ``id_column``: parcels that keep their ids).
    id_column : str
        The parcel id column of both years.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``previous_tier4`` and ``changed`` (nullable boolean: missing where
        last year's crop is unknown).

    Raises
    ------
    DataError
        If a table lacks the id column, or no parcel is found in last year's crops.
    """
    if isinstance(previous, pd.DataFrame):
        missing = [c for c in (id_column, "tier4") if c not in previous.columns]
        if missing:
            raise DataError(
                f"Last year's parcels lack {missing}: pass them through check_parcels, with "
                f"the parcel ids in {id_column!r}."
            )
        previous = previous.drop_duplicates(id_column).set_index(id_column)["tier4"]
    if id_column not in parcels.columns:
        raise DataError(
            f"The parcels have no {id_column!r} column to find last year's crop by; pass "
            f"id_column= (columns: {list(parcels.columns)})."
        )
    before = parcels[id_column].map(previous)
    if before.isna().all():
        raise DataError(
            f"None of the {len(parcels)} parcels' ids is in last year's crops: are both "
            f"tables of the same area, with the same ids in {id_column!r}?"
        )
    out = parcels.copy()
    out["previous_tier4"] = before
    out["changed"] = (before != parcels["tier4"]).astype("boolean").mask(before.isna())
    return out


def rasterize_labels(
    parcels: gpd.GeoDataFrame,
    like: xr.DataArray | xr.Dataset,
    buffer_m: float = 0.0,
    min_area_m2: float = 0.0,
    crs: str | None = None,
    taxonomy: Taxonomy | str | None = None,
) -> xr.Dataset:
    """Burn parcel labels onto the grid of ``like``.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Checked parcels (from :func:`check_parcels`), in any CRS.
    like : xarray.DataArray or xarray.Dataset
        Gives the grid: regular ``x``/``y`` pixel centres and a ``crs`` attribute.
    buffer_m : float
        Shrink each parcel by this many metres first, which drops mixed border pixels.
    min_area_m2 : float
        Drop parcels smaller than this (after the buffer).
    crs : str, optional
        CRS of the grid when ``like`` has no ``crs`` attribute.
    taxonomy : Taxonomy or str, optional
        The taxonomy the parcels' tiers come from (the one given to
        :func:`check_parcels`; cropkit's table by default). It numbers the classes:
        every tier's index is the position in ``taxonomy.classes(tier)``, whichever
        classes the parcels hold, so label layers of any area share their indices.

    Returns
    -------
    xarray.Dataset
        ``parcel`` (row of the kept parcels + 1, 0 outside) and ``tier4`` ... ``tier1``
        (int16 class index, :data:`NO_LABEL` outside), dims ``(y, x)``. Each tier's
        class names are in its ``classes`` attribute (index order: the taxonomy's
        classes); the taxonomy in the attributes ``taxonomy`` and ``taxonomy_table``.
        Parcels with a ``changed`` column (:func:`mark_crop_change`) add a ``changed``
        layer (int8: 1 the crop changed from the year before, 0 it stayed,
        :data:`UNKNOWN_CHANGE` unknown or outside).

    Raises
    ------
    DataError
        If the grid has no CRS, or the parcels hold classes the taxonomy lacks.
    """
    crs = crs or grid_crs(like)
    if crs is None:
        raise DataError("The grid has no CRS (no 'crs' attribute); pass crs=.")
    frame = parcels.to_crs(crs)
    geoms = frame.geometry.buffer(-buffer_m) if buffer_m else frame.geometry
    keep = ~geoms.is_empty & (geoms.area >= min_area_m2)
    geoms = geoms[keep]
    burnt = burn(zip(geoms, np.flatnonzero(keep) + 1), like)
    coords = {"y": like["y"].values, "x": like["x"].values}
    out = {"parcel": xr.DataArray(burnt, dims=("y", "x"), coords=coords)}
    inside = burnt > 0
    taxonomy = load_taxonomy(taxonomy)
    for tier in TIERS:
        names = frame[tier].astype(object)
        known = names.notna().to_numpy()
        try:
            index = taxonomy.index(names[known].astype(str).to_numpy(), tier)
        except TaxonomyError as err:
            raise DataError(
                f"{err} Pass rasterize_labels(..., taxonomy=) the taxonomy the parcels were "
                "checked with."
            ) from err
        per_parcel = np.full(len(frame) + 1, NO_LABEL, dtype=np.int16)
        per_parcel[1:][known] = index
        layer = np.where(inside, per_parcel[burnt], NO_LABEL).astype(np.int16)
        classes = taxonomy.classes(tier)
        out[tier] = xr.DataArray(layer, dims=("y", "x"), coords=coords, attrs={"classes": classes})
    if "changed" in frame:  # crop change from the year before (see mark_crop_change)
        flags = frame["changed"].astype("boolean")
        per_parcel = np.full(len(frame) + 1, UNKNOWN_CHANGE, dtype=np.int8)
        per_parcel[1:] = flags.astype("Int8").fillna(UNKNOWN_CHANGE).to_numpy(dtype=np.int8)
        layer = np.where(inside, per_parcel[burnt], UNKNOWN_CHANGE).astype(np.int8)
        out["changed"] = xr.DataArray(layer, dims=("y", "x"), coords=coords)
    attrs = {"crs": crs, "buffer_m": buffer_m, "min_area_m2": min_area_m2}
    return xr.Dataset(out, attrs={**attrs, **taxonomy.to_attrs()})
