"""Studies: their file, units, resumable runs, temporal windows, seeds and verdicts."""

import json

import numpy as np
import pandas as pd
import pytest

from cropkit.core.errors import ConfigError, DataError
from cropkit.experiments.pooling import pool_datasets
from cropkit.experiments.study import (
    StudySpec,
    Unit,
    load_study,
    run_study,
    temporal_window,
    unit_recipe,
    units,
)
from cropkit.experiments.verdicts import summarise, time_capped

FAST = {"n_estimators": 20, "max_train_pixels": 2000, "n_jobs": 1}


def spec(**changes) -> StudySpec:
    base = {
        "name": "tiny",
        "data": {"runs": [{"region": "chartres"}, {"region": "vitre"}], "test_zones": ["z2"]},
        "models": {"xgboost": FAST},
        "variants": {"s2": {"inputs": ["s2"]}, "s2+s1": {"inputs": ["s2", "s1"]}},
        "compare": [["s2+s1", "s2"]],
        "seeds": 2,
        "budget": {"epochs": 2},
    }
    return StudySpec.from_dict({**base, **changes})


@pytest.fixture(scope="module")
def pooled(toy_pixels):
    half = toy_pixels.sizes["sample"] // 2
    return pool_datasets(
        {"chartres": toy_pixels, "vitre": toy_pixels.isel(sample=slice(0, half))}
    ).load()


def test_a_study_file_is_read_and_checked(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(
        "name: tiny\ndata: {runs: [{region: chartres}]}\nmodels: {xgboost: {}}\n"
        "variants: {s2: {inputs: [s2]}, june: {inputs: [s2], until: '2023-06-30'}}\n"
        "seeds: 3\nbudget: {epochs: 4}\n"
    )
    study = load_study(path)
    assert [u.key for u in units(study)][:2] == ["s2__xgboost__seed0", "s2__xgboost__seed1"]
    assert len(units(study)) == 2 * 1 * 3 and study.epochs == 4
    with pytest.raises(ConfigError, match="seeds must be a whole number of 1 or more, not 0"):
        spec(seeds=0)
    with pytest.raises(ConfigError, match="Unknown model 'xgb'"):
        spec(models={"xgb": {}})
    with pytest.raises(ConfigError, match="until must be a date YYYY-MM-DD, not 'june'"):
        spec(variants={"s2": {"until": "june"}})
    with pytest.raises(ConfigError, match="pairs of two different variants"):
        spec(compare=[["s2", "s3"]])
    with pytest.raises(ConfigError, match="clouds must be one of"):
        spec(variants={"s2": {"clouds": "foggy"}})
    with pytest.raises(ConfigError, match=r"\['xgboost'\] name both a variant and a model"):
        spec(variants={"xgboost": {}})
    with pytest.raises(ConfigError, match="names its test_regions"):
        spec(split={"design": "region_holdout"})
    with pytest.raises(ConfigError, match=r"names the years it tests on.*not '2024'"):
        spec(split={"design": "temporal_transfer", "test_years": "2024"})
    with pytest.raises(ConfigError, match="does not exist"):
        load_study(tmp_path / "none.yaml")


def test_a_temporal_transfer_tests_on_the_runs_of_its_test_years():
    from types import SimpleNamespace

    from cropkit.stages.study import _runs_of_years

    study = spec(split={"design": "temporal_transfer", "test_years": [2024]})
    sources = [SimpleNamespace(config=SimpleNamespace(year=y)) for y in (2023, 2024, 2024)]
    labels = ["chartres-2023", "chartres-2024", "vitre-2024"]
    assert _runs_of_years(study, labels, sources) == ["chartres-2024", "vitre-2024"]
    with pytest.raises(ConfigError, match="would test 0 of the runs"):
        _runs_of_years(study, labels[:1], sources[:1])


def test_a_temporal_window_cuts_the_season(toy_pixels):
    times = toy_pixels["time"].values.astype("datetime64[D]")
    june = temporal_window(toy_pixels, str(times[5]))
    assert june.sizes["time"] == 6 and june["s2"].shape[1] == 6
    assert temporal_window(toy_pixels, None) is toy_pixels
    with pytest.raises(DataError, match="outside the season's periods"):
        temporal_window(toy_pixels, str(times[0] - np.timedelta64(40, "D")))


def test_a_tiny_study_runs_resumes_and_refuses_another_study_s_folder(pooled, tmp_path):
    study = spec()
    data = {"pixel": pooled}
    lines = []
    results = run_study(study, data, tmp_path / "tiny", report=lines.append)
    assert len(results) == 4 and all(line.endswith("s)") for line in lines)
    assert set(results[0]["regions"]) == {"chartres", "vitre"}
    assert results[1]["inputs"] == ["s2"] and results[2]["inputs"] == ["s2", "s1"]
    (tmp_path / "tiny" / "units" / "s2+s1__xgboost__seed1.json").unlink()  # killed there
    lines.clear()
    again = run_study(study, data, tmp_path / "tiny", report=lines.append)
    assert [line.split(":")[1].strip()[:4] for line in lines] == ["cach"] * 3 + ["done"]
    assert again[:3] == results[:3]
    with pytest.raises(ConfigError, match=r"another study \(seeds differ\)"):
        run_study(spec(seeds=3), data, tmp_path / "tiny")
    tables = summarise(study, again)
    scores = tables["scores"].set_index(["variant", "model", "tier"])
    f1 = [r["tiers"]["tier4"]["macro_f1"] for r in again[:2]]
    assert scores.loc[("s2", "xgboost", "tier4"), "mean"] == pytest.approx(np.mean(f1))
    diff = tables["differences"].set_index("tier").loc["tier4"]
    a = [r["tiers"]["tier4"]["macro_f1"] for r in again[2:]]
    assert diff["mean"] == pytest.approx(np.mean(np.subtract(a, f1)))
    assert diff["verdict"] in {"reproduced", "contradicted", "inconclusive"}
    classes = tables["classes"]
    assert classes.shape[1] == 2 and len(classes) == 4  # the toy's four crops, both variants
    first = results[0]["classes"]
    name = next(iter(first))
    again_f1 = [r["classes"][name] for r in again[:2]]
    assert classes.loc[name, ("s2", "xgboost")] == pytest.approx(np.mean(again_f1))
    assert time_capped(tables) == []  # XGBoost has no time cap


def test_verdicts_follow_the_sign_of_the_paired_interval():
    study = spec(seeds=3)
    rows = []
    for variant, scores in (("s2+s1", [0.62, 0.66, 0.64]), ("s2", [0.60, 0.63, 0.62])):
        for seed, f1 in enumerate(scores):
            tiers = {t: {"macro_f1": f1, "overall_accuracy": f1} for t in ("tier4", "tier1")}
            unit = {"variant": variant, "model": "xgboost", "seed": seed}
            rows.append({"unit": unit, "tiers": tiers, "regions": {}})
    diff = summarise(study, rows)["differences"].set_index("tier").loc["tier4"]
    # differences 0.02, 0.03, 0.02: mean 0.0233, sd 0.00577, t(0.975, 2) = 4.303
    assert diff["mean"] == pytest.approx(0.023333, abs=1e-6)
    assert diff["low"] == pytest.approx(0.023333 - 4.302653 * 0.0057735 / np.sqrt(3), abs=1e-5)
    assert diff["verdict"] == "reproduced"
    assert isinstance(summarise(study, rows)["scores"], pd.DataFrame)
    assert json.dumps(study.identity())  # a study's identity is JSON


def test_crop_change_scores_and_their_paired_differences():
    study = spec(seeds=3)
    rows = []
    changed = {"s2+s1": [0.50, 0.56, 0.53], "s2": [0.40, 0.44, 0.45]}
    for variant in changed:
        for seed in range(3):
            tiers = {"tier4": {"macro_f1": 0.6, "overall_accuracy": 0.6}}
            unit = {"variant": variant, "model": "xgboost", "seed": seed}
            crop_change = {
                "changed": {"macro_f1": changed[variant][seed], "pixels": 300},
                "stable": {"macro_f1": 0.7, "pixels": 100 + seed},
            }
            rows.append({"unit": unit, "tiers": tiers, "regions": {}, "crop_change": crop_change})
    tables = summarise(study, rows)
    change = tables["crop_change"].set_index(["variant", "parcels"])
    assert change.loc[("s2", "changed"), "mean"] == pytest.approx(0.43)
    assert change.loc[("s2", "stable"), "pixels"] == 101
    diff = tables["differences"].set_index("parcels")
    assert list(diff.index) == ["all", "changed", "stable"]
    # differences 0.10, 0.12, 0.08 on changed parcels: mean 0.10, sd 0.02
    assert diff.loc["changed", "mean"] == pytest.approx(0.10)
    assert diff.loc["changed", "low"] == pytest.approx(
        0.10 - 4.302653 * 0.02 / np.sqrt(3), abs=1e-5
    )
    assert diff.loc["changed", "verdict"] == "reproduced"
    assert diff.loc["stable", "verdict"] == "inconclusive"  # no difference at all


def test_two_models_compare_on_every_variant_and_clouds_hide_periods(pooled, tmp_path):
    study = spec(
        models={"xgboost": FAST, "tempcnn": {"batch_size": 256}},
        variants={"cloudy": {"inputs": ["s2"], "clouds": [4, 5, 6]}},
        compare=[["tempcnn", "xgboost"]],
        seeds=2,
        budget={"epochs": 1},
    )
    results = run_study(study, {"pixel": pooled}, tmp_path / "two-models")
    diff = summarise(study, results)["differences"]
    assert set(diff["variant"]) == {"cloudy"} and len(diff) == 4  # one row per tier
    assert results[0]["info"]["seconds"] > 0


def test_the_shipped_studies_load():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "studies"
    loaded = {p.stem: load_study(p) for p in sorted(folder.glob("*.yaml"))}
    assert len(loaded) == 5
    assert len(loaded["tempcnn_unet_regions"].runs) == 8
    transfer = loaded["temporal_transfer"]  # two years of one region: train one, test the next
    assert transfer.split == {"design": "temporal_transfer", "test_years": [2024]}
    assert {len(units(s)) for s in loaded.values()} == {6, 12, 18}


def test_data_a_unit_cannot_use_is_refused_before_any_unit_runs(pooled, tmp_path):
    lacking = spec(variants={"s2+enmap": {"inputs": ["s2", "enmap"]}}, compare=[])
    with pytest.raises(DataError, match=r"'s2\+enmap' reads \['enmap'\], which"):
        run_study(lacking, {"pixel": pooled}, tmp_path / "lacking")
    late = spec(variants={"s2": {"inputs": ["s2"], "until": "2031-01-01"}}, compare=[])
    with pytest.raises(DataError, match="outside the season's periods"):
        run_study(late, {"pixel": pooled}, tmp_path / "late")
    assert not (tmp_path / "lacking").exists() and not (tmp_path / "late").exists()


def test_units_that_would_train_the_same_model_on_the_same_data_train_once(pooled, tmp_path):
    fusion = spec(
        models={"dual_stream": {}, "attention3dcnn": {}},
        variants={"s2": {"inputs": ["s2"]}, "s2+enmap": {"inputs": ["s2", "enmap"]}},
        compare=[["s2+enmap", "s2"]],
    )
    a, b = (Unit(v, "attention3dcnn", 0) for v in ("s2", "s2+enmap"))
    assert unit_recipe(fusion, a) == unit_recipe(fusion, b)  # it cannot read EnMAP
    d, e = (Unit(v, "dual_stream", 0) for v in ("s2", "s2+enmap"))
    assert unit_recipe(fusion, d) != unit_recipe(fusion, e)
    assert unit_recipe(fusion, a) != unit_recipe(fusion, Unit("s2", "attention3dcnn", 1))
    twice = spec(variants={"s2": {"inputs": ["s2"]}, "s2 again": {"inputs": ["s2"]}}, compare=[])
    lines = []
    results = run_study(twice, {"pixel": pooled}, tmp_path / "twice", report=lines.append)
    assert lines[2] == "s2 again__xgboost__seed0: the same training as s2__xgboost__seed0"
    assert [line.endswith(" s)") for line in lines] == [True, True, False, False]
    assert results[2]["tiers"] == results[0]["tiers"] and results[3]["tiers"] == results[1]["tiers"]
    assert results[3]["info"]["same_as"] == "s2__xgboost__seed1"  # each seed its own twin
    assert results[2]["unit"]["variant"] == "s2 again"
    saved = json.loads((tmp_path / "twice" / "units" / "s2 again__xgboost__seed0.json").read_text())
    assert saved["info"]["same_as"] == "s2__xgboost__seed0"


def test_joint_decoding_is_set_beside_each_head_s_own_argmax_over_seeds():
    study = spec(seeds=3, compare=[])
    rows = []
    for seed, (joint, own) in enumerate([(0.62, 0.60), (0.645, 0.62), (0.615, 0.60)]):
        rows.append(
            {
                "unit": {"variant": "s2", "model": "dual_stream", "seed": seed},
                "tiers": {"tier4": {"macro_f1": joint, "overall_accuracy": 0.7}},
                "regions": {},
                "independent": {
                    "macro_f1": {"tier4": own},
                    "tier_agreement": {"all": 0.95 + seed / 100},
                },
            }
        )
    rows.append({**rows[0], "unit": {"variant": "s2", "model": "xgboost", "seed": 0}})
    del rows[-1]["independent"]  # a flat model has no heads to decode
    decoding = summarise(study, rows)["decoding"].set_index(["model", "tier"])
    row = decoding.loc[("dual_stream", "tier4")]
    assert len(decoding) == 1 and row["joint"] == pytest.approx(0.6267, abs=1e-4)
    assert row["difference"] == pytest.approx(0.02) and row["independent"] == pytest.approx(
        0.6067, abs=1e-4
    )
    assert row["independent_agreement"] == pytest.approx(0.96)
    assert row["verdict"] == "reproduced"  # 0.02, 0.025, 0.015: the interval above 0


def test_a_model_that_reads_the_same_in_both_variants_gets_no_difference():
    study = spec(models={"xgboost": FAST, "utae": {}}, seeds=2)
    rows = []
    for variant in ("s2", "s2+s1"):
        for model in ("xgboost", "utae"):  # utae reads no S1: one training for both
            for seed in range(2):
                info = {}
                if model == "utae" and variant == "s2+s1":
                    info = {"same_as": f"s2__utae__seed{seed}"}
                f1 = 0.5 + 0.1 * seed + 0.05 * (variant == "s2+s1")
                rows.append(
                    {
                        "unit": {"variant": variant, "model": model, "seed": seed},
                        "tiers": {"tier4": {"macro_f1": f1, "overall_accuracy": f1}},
                        "regions": {},
                        "info": info,
                    }
                )
    diff = summarise(study, rows)["differences"]
    assert list(diff["model"]) == ["xgboost"]  # no zero difference of one training with itself
