"""Crop rotations: the same parcels across years, plausible sequences, the previous crop known."""

import numpy as np
import pandas as pd
import pytest

from cropkit.core.errors import ConfigError
from cropkit.core.regions import get_region
from cropkit.core.taxonomy import load_taxonomy
from cropkit.demo.landscape import simulate_landscape
from cropkit.demo.rotations import (
    REFERENCE_YEAR,
    RotationRules,
    crop_history,
    load_rotation_rules,
    rotate,
)

TAXONOMY = load_taxonomy()
TIER4 = TAXONOMY.table["tier4"].to_dict()


@pytest.fixture(scope="module")
def history():
    """Six years of Chartres (2 x 2 zones of 256 px) and of Béziers (vineyards)."""
    out = {}
    for region in ("chartres", "beziers"):
        reg = get_region(region)
        parcels = simulate_landscape(
            reg, reg.grid(256, (2, 2)), TAXONOMY, np.random.default_rng(0)
        ).parcels
        years = list(range(2020, 2026))
        codes = crop_history(
            parcels["CODE_CULTU"].to_numpy(),
            parcels["zone_id"].to_numpy(),
            years,
            TAXONOMY,
            lambda year: np.random.default_rng(year),
        )
        out[region] = (parcels, {y: np.array([TIER4[c] for c in codes[y]]) for y in years})
    return out


def test_each_zone_keeps_its_crop_mix_and_the_reference_year_its_crops(history):
    parcels, crops = history["chartres"]
    assert (crops[REFERENCE_YEAR] == parcels["CODE_CULTU"].map(TIER4).to_numpy()).all()
    for year in crops:
        for zone, part in parcels.groupby("zone_id"):
            mine = np.sort(crops[year][part.index])
            assert (mine == np.sort(crops[REFERENCE_YEAR][part.index])).all(), (year, zone)


def test_sequences_follow_the_rotation_rules(history):
    rules = load_rotation_rules()
    pairs = pd.concat(
        pd.DataFrame({"before": crops[y - 1], "after": crops[y]})
        for _, crops in history.values()
        for y in list(crops)[1:]
    )
    fit = np.array([rules.weight(a, b) for a, b in zip(pairs["before"], pairs["after"])])
    assert (fit == 0).mean() < 0.08  # a few changes of plan, late in the deal
    arable = pairs[~pairs["before"].map(rules.permanent)]
    changed = (arable["before"] != arable["after"]).mean()
    assert 0.6 < changed < 0.95  # most arable parcels change crop every year
    # wheat follows rapeseed; maize often follows maize; permanent crops stay
    after_rapeseed = pairs.loc[pairs["before"] == "winter_rapeseed", "after"]
    assert (
        after_rapeseed.isin(["winter_soft_wheat", "winter_durum_wheat", "winter_barley"]).mean()
        > 0.6
    )
    maize = pairs.loc[pairs["before"] == "grain_maize", "after"]
    assert (maize == "grain_maize").mean() > 0.2
    for crop in ("wine_vineyard", "fruit_orchard", "permanent_meadow", "lavender"):
        stays = pairs.loc[pairs["before"] == crop, "after"]
        assert (stays == crop).all(), crop
    assert (pairs["before"] == "wine_vineyard").sum() > 20  # Béziers grows vines: tested


def test_histories_asked_for_apart_agree(history):
    parcels, crops = history["chartres"]
    alone = crop_history(
        parcels["CODE_CULTU"].to_numpy(),
        parcels["zone_id"].to_numpy(),
        [2024],
        TAXONOMY,
        lambda year: np.random.default_rng(year),
    )
    assert (np.array([TIER4[c] for c in alone[2024]]) == crops[2024]).all()


def test_backward_years_read_the_rules_backwards():
    rules = load_rotation_rules()
    codes = np.array(["CZH"] * 10 + ["BTH"] * 10, dtype=object)  # rapeseed then wheat
    before = rotate(codes, np.array(["z1"] * 20), TAXONOMY, rules, np.random.default_rng(1), True)
    # what came before this year's wheat: mostly rapeseed (wheat after rapeseed)
    assert (before[10:] == "CZH").sum() >= 6


def test_rotation_tables_that_disagree_are_refused():
    transitions = pd.DataFrame({"previous": ["cereal"], "next": ["moon_crop"], "weight": [1.0]})
    with pytest.raises(ConfigError, match="moon_crop"):
        RotationRules({"winter_soft_wheat": "cereal"}, transitions)
    with pytest.raises(ConfigError, match="says nothing of what follows the roles \\['maize'\\]"):
        RotationRules(
            {"winter_soft_wheat": "cereal", "grain_maize": "maize"}, transitions.assign(next="same")
        )


def test_a_demo_knows_each_parcels_previous_crop_and_years_share_parcels(tiny_demo, private_cache):
    from cropkit.demo import build_demo

    assert {"previous", "changed"} <= set(tiny_demo.truth().columns)
    # zones of 128 px hold enough parcels for the deal to move crops (64 px: one or two)
    years = [
        build_demo("chartres", y, profile="ci", zone_px=128, enmap_scenes=0) for y in (2023, 2024)
    ]
    truth, after = (demo.truth() for demo in years)
    assert (truth["changed"] == (truth["grown"] != truth["previous"])).all()
    assert 0.3 < truth["changed"].mean() < 1.0
    before, now = (demo.parcels() for demo in years)
    assert list(now["ID_PARCEL"]) == list(before["ID_PARCEL"])  # the same parcels
    assert now.geometry.geom_equals(before.geometry).all()
    # 2024's previous crop is what 2023 grew
    assert (after["previous"].to_numpy() == truth["grown"].to_numpy()).all()
    assert (after["grown"] != truth["grown"]).mean() > 0.5
