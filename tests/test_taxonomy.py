import numpy as np
import pytest

from cropkit.core.errors import TaxonomyError
from cropkit.core.regions import load_regions
from cropkit.core.taxonomy import load_taxonomy


def test_every_region_crop_is_in_the_taxonomy():
    tax = load_taxonomy()
    for region in load_regions().values():
        assert set(region.crop_mix) <= set(tax.table.index)


def test_tiers_are_nested():
    tax = load_taxonomy()
    assert tax.classes(1) == ["arable_crops", "fallow_land", "grassland", "permanent_crops"]
    assert len(tax.classes(4)) == 21
    assert tax.tier_of("BDH", 3) == "durum_wheat"
    assert tax.tier_of("BDH", 2) == "cereals"
    assert tax.tier_of("MIE", 2) == "green_fodder"  # silage maize is harvested green
    assert tax.tier_of("PPH", 4) == tax.tier_of("PRL", 4) == "permanent_meadow"


def test_roll_up():
    tax = load_taxonomy()
    labels = np.array([["winter_soft_wheat", "grain_maize"], ["wine_vineyard", "fallow"]])
    assert tax.roll_up(labels, 1).tolist() == [
        ["arable_crops", "arable_crops"],
        ["permanent_crops", "fallow_land"],
    ]
    assert tax.roll_up(labels, 4).tolist() == labels.tolist()  # tier 4 maps to itself
    assert tax.roll_up(labels, 3).tolist() == [
        ["soft_wheat", "grain_maize"],
        ["vineyards", "fallow"],
    ]
    with pytest.raises(TaxonomyError, match="not in the rpg taxonomy"):
        tax.roll_up(np.array(["banana"]), 2)


def test_unknown_code_and_tier():
    tax = load_taxonomy()
    with pytest.raises(TaxonomyError, match="'XYZ' is not in the taxonomy"):
        tax.tier_of("XYZ", 4)
    with pytest.raises(TaxonomyError, match="tier must be 1, 2, 3 or 4"):
        tax.classes(5)


HEADER = "code_cultu,tier4,tier3,tier2,tier1\n"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("BTH,wheat,soft,cereals,arable\nBTH,wheat,soft,cereals,arable\n", "listed more than once"),
        (
            "BTH,wheat,soft,cereals,arable\nBDH,wheat,durum,cereals,arable\n",
            "more than one tier3 parent",
        ),
        ("BTH,wheat,,cereals,arable\n", "empty cells"),
    ],
)
def test_invalid_tables_are_rejected(tmp_path, rows, message):
    path = tmp_path / "tax.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(path)


def test_missing_column(tmp_path):
    path = tmp_path / "tax.csv"
    path.write_text("code_cultu,tier4\nBTH,wheat\n")
    with pytest.raises(TaxonomyError, match="missing columns"):
        load_taxonomy(path)


def test_the_hcat3_mapping_agrees_with_the_rpg_one():
    rpg, hcat3 = load_taxonomy(), load_taxonomy("hcat3")
    assert hcat3.table.index.name == "code" and len(hcat3.table) >= 22
    # every RPG code's HCAT3 code lands in the same four tiers
    for code, row in rpg.table.iterrows():
        assert hcat3.table.loc[row["hcat3_code"], "tier4"] == row["tier4"], code
    assert hcat3.tier_of("3303011100", 4) == "fruit_orchard"  # peach, a descendant
    assert set(hcat3.classes(4)) == set(rpg.classes(4))
