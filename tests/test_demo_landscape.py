import numpy as np
import pytest

from cropkit.core.regions import get_region
from cropkit.core.taxonomy import load_taxonomy
from cropkit.demo.landscape import LAND_COVER_CODES, simulate_landscape


@pytest.fixture(scope="module")
def chartres():
    region = get_region("chartres")
    grid = region.grid(256, (2, 1))
    return grid, simulate_landscape(region, grid, load_taxonomy(), np.random.default_rng(0))


def test_parcels_look_like_the_rpg(chartres):
    grid, land = chartres
    parcels = land.parcels
    assert list(parcels.columns) == [
        "ID_PARCEL",
        "CODE_CULTU",
        "CODE_GROUP",
        "SURF_PARC",
        "zone_id",
        "geometry",
    ]
    assert parcels["ID_PARCEL"].is_unique
    assert parcels["ID_PARCEL"].iloc[0] == "CHA000001"
    assert set(parcels["CODE_CULTU"]) <= set(get_region("chartres").crop_mix)
    assert set(parcels["zone_id"]) == {"z1", "z2"}
    assert parcels.crs.to_epsg() == 32631
    assert parcels.is_valid.all()
    # parcels do not overlap
    assert parcels.area.sum() == pytest.approx(parcels.union_all().area, rel=1e-6)


def test_rasters_agree_with_polygons(chartres):
    grid, land = chartres
    counts = np.bincount(land.parcel_index.ravel(), minlength=len(land.parcels) + 1)[1:]
    expected = land.parcels.area.to_numpy() / 100.0
    big = expected > 200
    np.testing.assert_allclose(counts[big], expected[big], rtol=0.15)
    assert (land.cover == LAND_COVER_CODES["crop"]).mean() > 0.7
    assert np.all((land.parcel_index > 0) == (land.cover == LAND_COVER_CODES["crop"]))


def test_field_size_follows_the_region():
    tax = load_taxonomy()
    sizes = {}
    for name in ("chartres", "vitre"):
        region = get_region(name)
        grid = region.grid(256, (2, 1))
        sizes[name] = (
            simulate_landscape(region, grid, tax, np.random.default_rng(1))
            .parcels["SURF_PARC"]
            .median()
        )
    assert sizes["chartres"] > 3 * sizes["vitre"]


def test_bocage_has_hedges_and_beauce_has_none():
    tax = load_taxonomy()
    covers = {}
    for name in ("chartres", "vitre"):
        region = get_region(name)
        grid = region.grid(128, (1, 1))
        land = simulate_landscape(region, grid, tax, np.random.default_rng(2))
        covers[name] = (land.cover == LAND_COVER_CODES["hedge"]).mean()
    assert covers["chartres"] == 0 and covers["vitre"] > 0.03


def test_every_zone_grows_the_region_mix(chartres):
    _, land = chartres
    mix = get_region("chartres").crop_mix
    share = np.array(list(mix.values())) / sum(mix.values())
    for zone, parcels in land.parcels.groupby("zone_id"):
        counts = parcels["CODE_CULTU"].value_counts().reindex(list(mix), fill_value=0)
        assert (counts >= 1).all(), zone  # every crop, even in a small zone
        expected = share * len(parcels)
        common = expected.argmax()  # gives a parcel to each crop too rare to come up
        lent = (expected < 1).sum()
        off = np.abs(counts.to_numpy() - expected)
        assert (np.delete(off, common) < 1).all(), zone  # systematic sampling
        assert off[common] < 1 + lent, zone


def test_declared_codes_are_wrong_for_a_few_close_crops(chartres):
    from cropkit.demo.landscape import declared_parcels

    _, land = chartres
    tax = load_taxonomy()
    declared = declared_parcels(land.parcels, tax, np.random.default_rng(1), error_rate=0.3)
    wrong = declared["CODE_CULTU"] != land.parcels["CODE_CULTU"]
    assert 0.15 < wrong.mean() < 0.45
    assert set(declared["CODE_CULTU"]) <= set(land.parcels["CODE_CULTU"])
    family = tax.table["tier2"]
    grown, said = land.parcels["CODE_CULTU"][wrong], declared["CODE_CULTU"][wrong]
    assert (family[grown].to_numpy() == family[said].to_numpy()).mean() > 0.7  # mostly close
    assert (
        declared["CODE_GROUP"] == tax.table.loc[declared["CODE_CULTU"], "code_group"].to_numpy()
    ).all()
    same = declared_parcels(land.parcels, tax, np.random.default_rng(1), error_rate=0.0)
    assert (same["CODE_CULTU"] == land.parcels["CODE_CULTU"]).all()
