import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from cropkit.compute.labels import (
    NO_LABEL,
    UNKNOWN_CHANGE,
    check_parcels,
    mark_crop_change,
    rasterize_labels,
    read_parcels,
)
from cropkit.core.errors import DataError
from cropkit.core.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture()
def grid(make_grid):
    return make_grid(6, 8)


def two_parcels(crs=32631):
    return gpd.GeoDataFrame(
        {"ID_PARCEL": ["a", "b"], "CODE_CULTU": ["BTH", "MIS"]},
        geometry=[box(500000, 5000020, 500040, 5000060), box(500040, 5000000, 500080, 5000060)],
        crs=crs,
    )


def test_two_parcels_on_a_hand_made_grid(grid):
    parcels, report = check_parcels(two_parcels())
    assert report.kept == 2 and report.unknown_codes == {}
    layers = rasterize_labels(parcels, grid)
    assert layers["parcel"].values.tolist() == [[1] * 4 + [2] * 4] * 4 + [[0] * 4 + [2] * 4] * 2
    # class indices are the taxonomy's, whichever classes the parcels hold
    taxonomy = load_taxonomy()
    assert layers["tier4"].attrs["classes"] == taxonomy.classes(4)
    wheat, maize = taxonomy.index(["winter_soft_wheat", "grain_maize"])
    assert layers["tier4"].values[0].tolist() == [wheat] * 4 + [maize] * 4
    assert layers["tier4"].values[5, 0] == NO_LABEL
    assert layers["tier1"].attrs["classes"][0] == "arable_crops"
    assert set(np.unique(layers["tier1"].values)) == {0, NO_LABEL}
    assert Taxonomy.from_attrs(layers.attrs) == taxonomy


def test_crop_change_from_last_years_parcels_is_burnt_as_a_layer(grid):
    parcels, _ = check_parcels(two_parcels())
    last_year, _ = check_parcels(two_parcels().assign(CODE_CULTU=["CZH", "MIS"]))
    marked = mark_crop_change(parcels, last_year)  # rapeseed -> wheat; maize -> maize
    assert marked["changed"].tolist() == [True, False]
    assert marked["previous_tier4"].tolist() == ["winter_rapeseed", "grain_maize"]
    layers = rasterize_labels(marked, grid)
    assert layers["changed"].dtype == np.int8
    assert (
        layers["changed"].values.tolist()
        == [[1] * 4 + [0] * 4] * 4 + [[UNKNOWN_CHANGE] * 4 + [0] * 4] * 2
    )
    # a parcel last year's table lacks is unknown, not stable
    partial = mark_crop_change(parcels, pd.Series({"a": "winter_barley"}))
    assert partial["changed"].tolist()[0] is True and partial["changed"].isna().tolist() == [
        False,
        True,
    ]
    assert rasterize_labels(partial, grid)["changed"].values[0, 4] == UNKNOWN_CHANGE
    assert "changed" not in rasterize_labels(parcels, grid)  # no previous year: no layer
    with pytest.raises(DataError, match="None of the 2 parcels' ids"):
        mark_crop_change(parcels, pd.Series({"zz": "fallow"}))
    with pytest.raises(DataError, match="lack \\['tier4'\\]"):
        mark_crop_change(parcels, two_parcels())


def test_labels_of_another_taxonomy_are_numbered_by_it(grid):
    table = pd.DataFrame(
        {"code": ["BTH", "MIS"], "tier4": ["wheat", "maize"], "tier3": ["wheat", "maize"]}
    ).assign(tier2="cereal", tier1="crop")
    own = load_taxonomy(table)
    parcels, _ = check_parcels(two_parcels(), taxonomy=own)
    with pytest.raises(
        DataError, match=r"\['maize', 'wheat'\] are not in the rpg taxonomy.*taxonomy="
    ):
        rasterize_labels(parcels, grid)
    layers = rasterize_labels(parcels, grid, taxonomy=own)
    assert layers["tier4"].attrs["classes"] == ["maize", "wheat"]
    assert layers["tier4"].values[0].tolist() == [1] * 4 + [0] * 4


def test_inward_buffer_drops_border_pixels_and_min_area_drops_parcels(grid):
    parcels, _ = check_parcels(two_parcels())
    layers = rasterize_labels(parcels, grid, buffer_m=10)
    a = layers["parcel"].values == 1
    assert a.sum() == 2 * 2  # the 4 x 4 parcel loses a pixel on each side
    small = rasterize_labels(parcels, grid, min_area_m2=2000)
    assert set(np.unique(small["parcel"].values)) == {0, 2}  # 'a' is 1600 m2


def test_parcels_in_another_crs_are_reprojected(grid):
    wgs84 = two_parcels().to_crs(4326)
    parcels, _ = check_parcels(wgs84)
    layers = rasterize_labels(parcels, grid)
    assert (layers["parcel"].values == 1).sum() == pytest.approx(16, abs=2)


def test_bad_geometries_and_unknown_codes_are_reported():
    bowtie = Polygon([(500000, 5000000), (500010, 5000010), (500010, 5000000), (500000, 5000010)])
    frame = gpd.GeoDataFrame(
        {"CODE_CULTU": ["BTH", "BTH", "XXX", "XXX", "MIS"]},
        geometry=[
            bowtie,
            Polygon(),
            box(0, 0, 1, 1),
            box(0, 0, 2, 2),
            box(500000, 5000000, 500010, 5000010),
        ],
        crs=32631,
    )
    with pytest.warns(
        UserWarning, match="2 of 5 parcels kept.*1 geometries repaired, 1 empty dropped.*XXX: 2"
    ):
        parcels, report = check_parcels(frame)
    assert (report.total, report.repaired, report.dropped_empty, report.kept) == (5, 1, 1, 2)
    assert report.unknown_codes == {"XXX": 2}
    assert parcels.is_valid.all() and list(parcels["tier4"]) == ["winter_soft_wheat", "grain_maize"]


def test_unusable_inputs_are_explained(tmp_path):
    with pytest.raises(DataError, match="no 'CODE_CULTU' column.*code_column="):
        check_parcels(two_parcels().rename(columns={"CODE_CULTU": "code"}))
    with pytest.raises(DataError, match="no CRS"):
        check_parcels(two_parcels().set_crs(None, allow_override=True))
    with pytest.raises(DataError, match="No usable parcel left"):
        check_parcels(two_parcels().assign(CODE_CULTU="ZZZ"))
    with pytest.raises(DataError, match="does not exist"):
        read_parcels(tmp_path / "rpg.gpkg")
    (tmp_path / "junk.geojson").write_text("not json")
    with pytest.raises(DataError, match="Could not read parcels from .*junk.geojson"):
        read_parcels(tmp_path / "junk.geojson")
    two_parcels().iloc[:0].to_file(tmp_path / "empty.gpkg")
    with pytest.raises(DataError, match=r"empty.gpkg holds no parcel \(0 rows\)"):
        read_parcels(tmp_path / "empty.gpkg")
    two_parcels().assign(CODE_CULTU="ZZZ").to_file(tmp_path / "unknown.gpkg")
    with pytest.raises(DataError, match=r"unknown.gpkg: No usable parcel left: 0 of 2"):
        read_parcels(tmp_path / "unknown.gpkg")


def test_a_repaired_self_intersecting_parcel_is_counted_in_a_warning():
    bowtie = Polygon([(500000, 5000000), (500040, 5000040), (500040, 5000000), (500000, 5000040)])
    parcels = two_parcels()
    parcels.loc[0, "geometry"] = bowtie
    with pytest.warns(UserWarning, match="2 of 2 parcels kept; 1 geometries repaired"):
        kept, report = check_parcels(parcels)
    assert report.repaired == 1 and kept.geometry.is_valid.all()


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", ".geojson", ".shp"])
def test_every_vector_format_reads(tmp_path, suffix):
    path = tmp_path / f"rpg{suffix}"
    frame = two_parcels()
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_file(path)
    parcels, report = read_parcels(path)
    assert report.kept == 2 and list(parcels["CODE_CULTU"]) == ["BTH", "MIS"]


def test_a_csv_given_as_parcels_says_it_has_no_geometry(tmp_path):
    path = tmp_path / "rpg.csv"
    two_parcels().drop(columns="geometry").to_csv(path, index=False)
    with pytest.raises(DataError, match=r"rpg.csv holds a table without geometry") as err:
        read_parcels(path)
    message = str(err.value)
    assert "A CSV file has no parcel polygons" in message and "GeoPackage (.gpkg)" in message
    assert "['ID_PARCEL', 'CODE_CULTU']" in message


def test_parcels_off_the_area_are_refused_with_both_extents():
    from affine import Affine

    from cropkit.compute.labels import within_grid
    from cropkit.core.regions import SceneGrid

    grid = SceneGrid(32631, Affine(10, 0, 500000, 0, -10, 5000060), (6, 8), ())

    far = two_parcels()
    far["geometry"] = far.geometry.translate(xoff=200_000)  # 200 km east of the grid
    with pytest.raises(DataError, match="The parcels do not overlap the study area") as err:
        within_grid(check_parcels(far)[0], grid)
    area, parcels = str(err.value).split("Study area: ")[1].split("; parcels: ")
    assert area.startswith("(3.0000, 45.") and parcels.startswith("(5.5")
