"""Every benchmark whose numbers the README quotes runs here in its --smoke mode."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORLDCEREAL = ROOT.parent / "shared/data/worldcereal/public_extractions_2017_SSD_UGA.parquet"


def smoke(script: str) -> dict:
    """Run ``benchmarks/<script> --smoke`` and return its final JSON line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not WORLDCEREAL.exists() and not os.environ.get("CROPKIT_REQUIRE_SHARED"),  # CI has it
    reason="the shared WorldCereal table is absent",
)
def test_bench_parcels_reports_every_figure_the_readme_quotes():
    out = smoke("bench_parcels.py")
    assert out["samples"] == 500 and out["folds"] == 3 and out["seeds"] == 1
    for budget in ("epochs", "minutes"):
        deep = out["models"]["tempcnn"][budget]
        assert 0 <= deep["f1_tier4"]["mean"] <= 1 and deep["f1_tier4"]["sd"] >= 0
        assert len(deep["by_fold_f1_tier4"]) == 3 and deep["epochs"]["max"] >= 1
        assert set(deep["stopped_by"]) <= {"epochs", "time_budget", "early_stopping", "time_cap"}
        versus = out["vs_xgboost"][f"tempcnn ({budget})"]
        assert versus["low"] <= versus["mean"] <= versus["high"]
        assert versus["verdict"] in ("higher", "lower", "inconclusive")
    assert out["models"]["xgboost"]["epochs"]["stopped_by"] == {"boosting rounds": 3}
