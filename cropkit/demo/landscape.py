"""Simulated agricultural landscapes: parcels, hedges, roads, villages, forest and water.

Fields come from a recursive split of the study area (the way cadastral parcels
subdivide land), with a field-size and elongation pattern per region; hedges line a
share of field borders, a river and a few roads cross the area, a village takes a
cluster of blocks, and some blocks are woodland. The outputs look like the French RPG:
one polygon per parcel with ``ID_PARCEL``, ``CODE_CULTU``, ``CODE_GROUP`` and
``SURF_PARC`` (hectares).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio import features
from shapely import affinity
from shapely.geometry import LineString, Polygon, box
from shapely.ops import split, unary_union

from ..core.errors import TaxonomyError
from ..core.regions import Region, SceneGrid
from ..core.taxonomy import Taxonomy

__all__ = ["Landscape", "LAND_COVER_CODES", "simulate_landscape"]

#: Integer codes of the land-cover raster; parcels are ``CROP``.
LAND_COVER_CODES = {
    "margin": 0,
    "crop": 1,
    "forest": 2,
    "hedge": 3,
    "road": 4,
    "building": 5,
    "water": 6,
}


@dataclass
class Landscape:
    """A simulated landscape on a scene grid.

    Attributes
    ----------
    parcels : geopandas.GeoDataFrame
        One row per agricultural parcel: ``ID_PARCEL, CODE_CULTU, CODE_GROUP,
        SURF_PARC, zone_id, geometry`` in the grid's UTM CRS.
    land_cover : geopandas.GeoDataFrame
        Non-agricultural features: ``land_cover`` (forest, hedge, road, building,
        water) and ``geometry``; they carry no crop label.
    parcel_index : numpy.ndarray
        ``(y, x)`` int32 raster: row of ``parcels`` + 1 for each 10 m pixel, 0 elsewhere.
    cover : numpy.ndarray
        ``(y, x)`` uint8 raster of :data:`LAND_COVER_CODES`.
    """

    parcels: gpd.GeoDataFrame
    land_cover: gpd.GeoDataFrame
    parcel_index: np.ndarray
    cover: np.ndarray


def _split_polygon(poly: Polygon, rng: np.random.Generator, elongation: float) -> list[Polygon]:
    """Cut ``poly`` in two across its long axis, at a random place and slight angle."""
    minx, miny, maxx, maxy = poly.bounds
    width, height = maxx - minx, maxy - miny
    # cut across the longer side unless the piece is already elongated enough
    across_x = width > height if rng.random() > 0.15 else width <= height
    if max(width, height) / max(min(width, height), 1.0) < elongation and rng.random() < 0.5:
        across_x = not across_x
    frac = rng.uniform(0.3, 0.7)
    angle = rng.normal(0.0, 6.0)
    if across_x:
        x = minx + frac * width
        line = LineString([(x, miny - height), (x, maxy + height)])
    else:
        y = miny + frac * height
        line = LineString([(minx - width, y), (maxx + width, y)])
    line = affinity.rotate(line, angle, origin=poly.centroid)
    pieces = [g for g in split(poly, line).geoms if g.area > 1.0]
    return pieces if len(pieces) >= 2 else [poly]


def _subdivide(
    area: Polygon, rng: np.random.Generator, mean_ha: float, elongation: float
) -> list[Polygon]:
    """Recursively split ``area`` into fields of about ``mean_ha`` hectares."""
    sigma = 0.55
    stack, fields = [area], []
    while stack:
        poly = stack.pop()
        target = mean_ha * 1e4 * np.exp(rng.normal(-(sigma**2) / 2, sigma))
        if poly.area <= max(1.7 * target, 2500.0):  # a split halves: stop near the mean
            fields.append(poly)
            continue
        stack.extend(_split_polygon(poly, rng, elongation))
    return fields


def _river(grid: SceneGrid, rng: np.random.Generator) -> Polygon:
    """A meandering river, 12-30 m wide, crossing the area west to east."""
    xmin, ymin, xmax, ymax = grid.bounds
    n = 40
    xs = np.linspace(xmin - 100, xmax + 100, n)
    base = rng.uniform(ymin + 0.2 * (ymax - ymin), ymax - 0.2 * (ymax - ymin))
    wiggle = np.cumsum(rng.normal(0, (ymax - ymin) * 0.02, n))
    ys = base + wiggle - wiggle.mean()
    return LineString(np.column_stack([xs, ys])).buffer(rng.uniform(6, 15))


def _roads(grid: SceneGrid, rng: np.random.Generator) -> list[Polygon]:
    """Two or three country roads (6-8 m wide) crossing the area."""
    xmin, ymin, xmax, ymax = grid.bounds
    roads = []
    for k in range(int(rng.integers(2, 4))):
        if k % 2 == 0:
            x0, x1 = rng.uniform(xmin, xmax, 2)
            line = LineString(
                [(x0, ymin - 50), ((x0 + x1) / 2, (ymin + ymax) / 2), (x1, ymax + 50)]
            )
        else:
            y0, y1 = rng.uniform(ymin, ymax, 2)
            line = LineString(
                [(xmin - 50, y0), ((xmin + xmax) / 2, (y0 + y1) / 2), (xmax + 50, y1)]
            )
        roads.append(line.buffer(rng.uniform(3.0, 4.0), cap_style="flat"))
    return roads


def _village(block: Polygon, rng: np.random.Generator) -> list[Polygon]:
    """Houses (10-25 m) scattered on a block."""
    minx, miny, maxx, maxy = block.bounds
    houses = []
    n = int(block.area / 900)
    for _ in range(n):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        w, h = rng.uniform(10, 25, 2)
        house = box(x, y, x + w, y + h)
        if block.contains(house):
            houses.append(house)
    return houses


def simulate_landscape(
    region: Region, grid: SceneGrid, taxonomy: Taxonomy, rng: np.random.Generator
) -> Landscape:
    """Simulate the parcels and land cover of a study area.

    Parameters
    ----------
    region : Region
        Gives the field-size pattern, hedges, forest and urban shares and the crop mix.
    grid : SceneGrid
        The 10 m grid to lay the landscape on.
    taxonomy : Taxonomy
        Every crop code of the region's mix must be in it.
    rng : numpy.random.Generator
        Source of randomness (the landscape is deterministic for a given state).

    Returns
    -------
    Landscape
    """
    props = region.properties
    area = box(*grid.bounds)
    blocks = _subdivide(area, rng, props["mean_field_ha"], props["field_elongation"])
    rng.shuffle(blocks)

    # choose forest and village blocks among the fields
    total = area.area
    n_forest_target = props["forest_fraction"] * total
    n_urban_target = props["urban_fraction"] * total
    forest, urban, fields = [], [], []
    forest_area = urban_area = 0.0
    village_centre = np.array([rng.uniform(*grid.bounds[0::2]), rng.uniform(*grid.bounds[1::2])])
    order = sorted(
        range(len(blocks)),
        key=lambda i: np.hypot(*(np.array(blocks[i].centroid.coords[0]) - village_centre)),
    )
    for i in order:
        if urban_area < n_urban_target:
            urban.append(blocks[i])
            urban_area += blocks[i].area
            continue
        if forest_area < n_forest_target and rng.random() < 0.15:
            forest.append(blocks[i])
            forest_area += blocks[i].area
            continue
        fields.append(blocks[i])

    water = _river(grid, rng) if props.get("river") else Polygon()
    roads = unary_union(_roads(grid, rng))
    hedges = []
    for field in fields:
        if rng.random() < props["hedge_fraction"]:
            hedges.append(field.exterior.buffer(rng.uniform(2.5, 4.5)))
    hedge_union = unary_union(hedges) if hedges else Polygon()
    cut = unary_union([water, roads, hedge_union])

    codes = np.array(list(region.crop_mix))
    weights = np.array(list(region.crop_mix.values()))
    unknown = [c for c in codes if c not in taxonomy.table.index]
    if unknown:
        raise TaxonomyError(
            f"Region {region.region_id!r} grows crop codes {unknown} that the taxonomy does not "
            "list; add them to data/taxonomy.csv or remove them from the region's crop_mix."
        )
    geoms = []
    for field in fields:
        parcel = field.buffer(-rng.uniform(1.0, 3.0)).difference(cut)  # field margins
        if parcel.is_empty or parcel.area < 1500:
            continue
        if parcel.geom_type == "MultiPolygon":
            parcel = max(parcel.geoms, key=lambda g: g.area)
        geoms.append(parcel)

    prefix = region.region_id[:3].upper()
    parcels = gpd.GeoDataFrame(
        {"ID_PARCEL": [f"{prefix}{i + 1:06d}" for i in range(len(geoms))]},
        geometry=geoms,
        crs=grid.epsg,
    )
    zone_boxes = grid.zones_frame()
    centroids = gpd.GeoDataFrame(geometry=parcels.representative_point(), crs=grid.epsg)
    joined = gpd.sjoin(centroids, zone_boxes, how="left", predicate="within")
    parcels["zone_id"] = joined["zone_id"].groupby(level=0).first().to_numpy()
    parcels["CODE_CULTU"] = _allocate_crops(parcels["zone_id"], codes, weights, rng)
    parcels["CODE_GROUP"] = taxonomy.table.loc[parcels["CODE_CULTU"], "code_group"].to_numpy()
    parcels["SURF_PARC"] = (parcels.area / 1e4).round(2)
    parcels = parcels[["ID_PARCEL", "CODE_CULTU", "CODE_GROUP", "SURF_PARC", "zone_id", "geometry"]]

    houses = [h for block in urban for h in _village(block, rng)]
    cover_rows = (
        [("forest", g) for g in forest]
        + [("hedge", g.intersection(area)) for g in hedges]
        + [("road", roads.intersection(area))]
        + [("building", h) for h in houses]
        + ([("water", water.intersection(area))] if not water.is_empty else [])
    )
    land_cover = gpd.GeoDataFrame(
        {"land_cover": [c for c, _ in cover_rows]},
        geometry=[g for _, g in cover_rows],
        crs=grid.epsg,
    )
    land_cover = land_cover[~land_cover.is_empty].reset_index(drop=True)
    parcel_index, cover = rasterize_landscape(parcels, land_cover, grid)
    return Landscape(parcels, land_cover, parcel_index, cover)


def _allocate_crops(
    zone_ids: pd.Series, codes: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Crop code per parcel: each zone grows the region's whole mix.

    Systematic sampling per zone: a zone of ``n`` parcels gets each crop ``n * share``
    times, rounded up or down, in random places. A crop too rare to come up that way
    (``n * share < 1``, on a small study area) takes one parcel from the most common
    crop, when the zone has a parcel for every crop. Every zone then holds every crop, as
    a zone-held-out split needs: a crop missing from the training zones cannot be
    learnt, one missing from the test zone cannot be scored.
    """
    share = weights / weights.sum()
    zone_ids = zone_ids.fillna("")
    out = np.empty(len(zone_ids), dtype=object)
    for zone in pd.unique(zone_ids):
        members = np.flatnonzero((zone_ids == zone).to_numpy())
        n = members.size
        positions = (np.arange(n) + rng.random()) / n
        drawn = codes[
            np.searchsorted(np.cumsum(share), positions, side="right").clip(0, len(codes) - 1)
        ]
        if zone and n >= len(codes):
            for missing in (c for c in codes if c not in set(drawn)):
                found, counts = np.unique(drawn, return_counts=True)
                drawn[np.flatnonzero(drawn == found[counts.argmax()])[-1]] = missing
        out[rng.permutation(members)] = drawn
    return out


#: Share of parcels declared with another crop than the one grown, as in the real RPG
#: (declaration errors, late changes of plan).
DECLARATION_ERROR = 0.03


def declared_parcels(
    parcels: gpd.GeoDataFrame,
    taxonomy: Taxonomy,
    rng: np.random.Generator,
    error_rate: float = DECLARATION_ERROR,
) -> gpd.GeoDataFrame:
    """The parcels as farmers declare them: a few carry another crop's code.

    A wrong declaration names another crop of the area, of the same crop family
    (tier 2) when there is one, as confusions between close crops are the common ones.
    The simulator renders the crops actually grown; the RPG file shows these codes.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``CODE_CULTU`` and ``CODE_GROUP`` as declared.
    """
    codes = parcels["CODE_CULTU"].to_numpy(dtype=object).copy()
    grown = sorted(set(codes))
    family = taxonomy.table.loc[grown, "tier2"]
    for i in np.flatnonzero(rng.random(len(codes)) < error_rate):
        others = [c for c in grown if c != codes[i]]
        close = [c for c in others if family[c] == family[codes[i]]]
        if others:
            codes[i] = rng.choice(close or others)
    out = parcels.copy()
    out["CODE_CULTU"] = codes
    out["CODE_GROUP"] = taxonomy.table.loc[codes, "code_group"].to_numpy()
    return out


def rasterize_landscape(
    parcels: gpd.GeoDataFrame, land_cover: gpd.GeoDataFrame, grid: SceneGrid
) -> tuple[np.ndarray, np.ndarray]:
    """Burn parcels and land cover onto the 10 m grid.

    Returns
    -------
    parcel_index : numpy.ndarray
        ``(y, x)`` int32, row of ``parcels`` + 1 (0 = no parcel).
    cover : numpy.ndarray
        ``(y, x)`` uint8 land-cover codes; later layers (roads, buildings, water)
        are burnt over earlier ones.
    """
    shape = grid.shape
    parcel_index = features.rasterize(
        zip(parcels.geometry, range(1, len(parcels) + 1)),
        out_shape=shape,
        transform=grid.transform,
        fill=0,
        dtype="int32",
    )
    cover = np.where(parcel_index > 0, LAND_COVER_CODES["crop"], LAND_COVER_CODES["margin"])
    cover = cover.astype("uint8")
    for name in ("forest", "hedge", "road", "building", "water"):
        geoms = land_cover.geometry[land_cover["land_cover"] == name]
        if len(geoms):
            features.rasterize(
                ((g, LAND_COVER_CODES[name]) for g in geoms),
                out=cover,
                transform=grid.transform,
            )
    parcel_index[cover != LAND_COVER_CODES["crop"]] = 0
    return parcel_index, cover
