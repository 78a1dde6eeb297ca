"""``cropkit study``: a study file run end to end on two small demo areas, then resumed."""

import json

import yaml

from cropkit.face.cli import main
from cropkit.face.studies import study

#: Two neighbouring areas of the Chartres ci demo, six zones of 600 m each.
AREAS = ("1.52,48.395,1.536,48.402", "1.536,48.395,1.552,48.402")


def test_a_tiny_study_of_two_areas_runs_end_to_end_and_resumes(
    stac_server, smoke_run_root, tmp_path, capsys
):
    # the run folders of these areas may hold products of the benchmarks' smoke runs
    runs = [{"aoi": aoi, "zone_km": 0.6, "run_root": smoke_run_root} for aoi in AREAS]
    path = tmp_path / "two.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "two-areas",
                "data": {"runs": runs, "test_zones": ["z4"]},
                "models": {"xgboost": {"n_estimators": 20, "n_jobs": 1}},
                "variants": {"s2": {"inputs": ["s2"]}, "s2+s1": {"inputs": ["s2", "s1"]}},
                "compare": [["s2+s1", "s2"]],
                "seeds": 2,
                "budget": {"epochs": 1},
            }
        )
    )
    lines = []
    tables = study(path, tmp_path / "study", report=lines.append)
    assert lines[0].startswith("data: pixel ") and sum("done" in line for line in lines) == 4
    regions = tables["regions"]
    assert len(set(regions["region"])) == 2  # each area scored on its own held-out zone
    assert set(tables["differences"]["verdict"]) <= {"reproduced", "contradicted", "inconclusive"}
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["study"] == "two-areas"
    # four tiers on all test pixels, and tier 4 on parcels whose crop changed and stable ones
    parcels = [(d["tier"], d["parcels"]) for d in summary["differences"]]
    assert parcels == [(t, "all") for t in ("tier4", "tier3", "tier2", "tier1")] + [
        ("tier4", "changed"),
        ("tier4", "stable"),
    ]
    change = tables["crop_change"]
    assert set(change["parcels"]) == {"changed", "stable"} and (change["pixels"] > 0).all()
    assert change["mean"].between(0, 1).all()
    assert len(list((tmp_path / "study" / "units").glob("*.json"))) == 4
    page = (tmp_path / "study" / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1 and "http" not in page  # offline
    assert "<h2>Paired differences</h2>" in page and "crop changed from the year before" in page
    assert main(["study", "-f", str(path), "--folder", str(tmp_path / "study")]) == 0
    out = capsys.readouterr().out
    assert out.count(": cached") == 4 and "xgboost tier4: s2+s1 - s2 = " in out
    assert "xgboost tier4 (changed parcels): s2+s1 - s2 = " in out


def test_the_report_plots_f1_against_the_cut_date():
    import pandas as pd

    from cropkit.experiments.study import StudySpec
    from cropkit.face.studies import study_report

    spec = StudySpec.from_dict(
        {
            "name": "windows",
            "data": {"runs": [{"region": "chartres", "year": 2023}]},
            "models": {"xgboost": {}},
            "variants": {
                "s2": {"inputs": ["s2"]},
                "s2-june": {"inputs": ["s2"], "until": "2023-06-30"},
            },
        }
    )
    rows = [
        {"variant": v, "model": "xgboost", "tier": "tier4", "mean": m, "low": m - 0.02}
        for v, m in (("s2", 0.61), ("s2-june", 0.48))
    ]
    tables = {
        "scores": pd.DataFrame(rows),
        "differences": pd.DataFrame(),
        "regions": pd.DataFrame(),
    }
    page = study_report(spec, tables)
    assert "<h1>Study windows</h1>" in page and "1 runs (chartres 2023)" in page
    assert page.count("data:image/png;base64,") == 1 and "<td>0.48</td>" in page
