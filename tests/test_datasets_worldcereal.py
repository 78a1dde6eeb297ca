"""Real parcel series: the shared WorldCereal table through from_worldcereal / from_arrays."""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cropkit.compute.folds import coordinate_folds, fold_codes
from cropkit.compute.metrics import classification_report
from cropkit.compute.splits import TEST
from cropkit.core.errors import DataError
from cropkit.core.taxonomy import load_taxonomy
from cropkit.datasets import from_worldcereal, read_worldcereal
from cropkit.datasets.worldcereal import OPTICAL, RADAR
from cropkit.experiments.fit import fit_and_score

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared/data/worldcereal/public_extractions_2017_SSD_UGA.parquet"
TAXONOMY = ROOT / "tests/fixtures/worldcereal_taxonomy.csv"

pytestmark = pytest.mark.skipif(
    not TABLE.exists() and not os.environ.get("CROPKIT_REQUIRE_SHARED"),  # CI has ../shared
    reason=f"the shared WorldCereal table is not at {TABLE}",
)


@pytest.fixture(scope="module")
def raw():
    return pd.read_parquet(TABLE)


@pytest.fixture(scope="module")
def samples(raw):
    return read_worldcereal(raw)


@pytest.fixture(scope="module")
def dataset(samples):
    return from_worldcereal(samples, load_taxonomy(TAXONOMY), split=np.zeros(500, np.int8))


def test_bands_are_decoded_with_worldclereals_scalings(raw, samples):
    assert samples.s2.shape == (500, 12, 10) and samples.s1.shape == (500, 12, 2)
    b04 = raw["OPTICAL-B04-ts3-10m"].to_numpy()
    ok = b04 != 65535
    assert np.allclose(samples.s2[ok, 3, OPTICAL.index("B04")], b04[ok] / 10_000)
    assert np.isnan(samples.s2[~ok, 3, OPTICAL.index("B04")]).all() and (~ok).sum() > 0
    vv = raw["SAR-VV-ts5-20m"].to_numpy().astype(float)
    ok = vv != 65535
    assert np.allclose(samples.s1[ok, 5, RADAR.index("VV")], 20 * np.log10(vv[ok]) - 83)
    # plausible physical ranges: reflectance 0-1, backscatter in dB of cropland
    assert 0 < np.nanmedian(samples.s2) < 0.5
    assert -16 < np.nanmedian(samples.s1[..., 0]) < -10 and np.nanmedian(samples.s1[..., 1]) < -17
    nodata = np.mean([(raw[c] == 65535).mean() for c in raw.columns if c.startswith("OPTICAL")])
    assert np.isnan(samples.s2).mean() == pytest.approx(nodata)
    assert (
        str(samples.dates[0])[:10] == "2016-12-15" and str(samples.dates[-1])[:10] == "2017-11-15"
    )
    assert samples.labels[0] == 1101070000 and samples.meta["sample_id"].is_unique


def test_the_dataset_carries_the_taxonomy_dates_and_sample_ids(dataset):
    taxonomy = load_taxonomy(TAXONOMY)
    assert dataset.attrs["classes_tier4"] == taxonomy.classes(4)
    assert dataset.attrs["classes_tier1"] == ["built_up", "grasslands", "temporary_crops", "trees"]
    sorghum = taxonomy.index(["sorghum"])[0]
    assert (dataset["tier4"].values == sorghum).sum() == 305
    assert dataset["doy"].values.tolist()[:3] == [350, 381, 412]  # December 2016 on
    assert (dataset["s1_doy"].values == dataset["doy"].values).all()
    assert dataset["sample_id"].values[0] == "2017_SSD_ESA-project-Sen2Agri_POLY_111_218"
    assert dataset["band"].values.tolist() == list(OPTICAL)


def test_a_table_without_worldcereal_columns_is_refused_clearly(raw):
    with pytest.raises(DataError, match=r"lacks the WorldCereal columns \['ewoc_code'\]"):
        read_worldcereal(raw.drop(columns="ewoc_code"))
    radar = [c for c in raw.columns if c.startswith("SAR-VH")]
    with pytest.raises(DataError, match=r"lacks WorldCereal SAR columns \['SAR-VH-ts0'"):
        read_worldcereal(raw.drop(columns=radar))


@pytest.fixture(scope="module")
def held_out_block(dataset):
    """Spatial folds of 0.05 degree blocks: fold 0 tests, fold 1 validates."""
    folds = coordinate_folds(
        dataset["lon"].values, dataset["lat"].values, 5, 0.05, dataset["tier4"].values
    )
    return dataset.assign(split=("sample", fold_codes(folds, 0, 5)))


@pytest.mark.parametrize("name", ["xgboost", "tempcnn", "ltae"])
def test_every_pixel_model_learns_real_parcels_on_a_held_out_block(name, held_out_block):
    test = held_out_block.isel(sample=held_out_block["split"].values == TEST)
    assert 80 < test.sizes["sample"] < 120 and len(np.unique(test["lat"])) > 50
    budget = {"n_estimators": 100} if name == "xgboost" else {"epochs": 8}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes with no training sample in this fold
        result = fit_and_score(name, held_out_block, ("s2", "s1"), seed=0, **budget)
    truth = result.predictions["true_tier4"]
    majority = classification_report(truth, np.full(truth.size, truth.mode()[0]))
    report = result.reports["tier4"]
    assert report.macro_f1 > majority.macro_f1 + 0.05, name  # more than the largest class
    assert report.overall_accuracy > 0.5 and result.reports["tier2"].macro_f1 > 0.25
