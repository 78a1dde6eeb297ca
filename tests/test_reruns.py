"""Regional reruns: batches of runs, resumable, isolated failures, one summary."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cropkit.core.errors import ConfigError
from cropkit.face.cli import main
from cropkit.face.reruns import (
    RunSpec,
    batch_from,
    load_batch,
    read_batch_file,
    rerun,
    summary_table,
)

#: Two notebooks that write, read and record a product each; ``fail_in`` makes one fail.
TINY = sorted(
    str(p) for p in (Path(__file__).parent / "fixtures" / "tiny_notebooks").glob("*.ipynb")
)


def _runs(root, **second):
    return batch_from(
        {"run_root": str(root)},
        runs=[{"region": "chartres", "year": 2023}, {"region": "vitre", "year": 2022, **second}],
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Two runs of the tiny notebooks, the second failing in 02_second; then run again."""
    root = tmp_path_factory.mktemp("batch")
    lines = []
    first = rerun(_runs(root, fail_in="02_second"), notebooks=TINY, report=lines.append)
    return root, first, lines


def test_one_failing_run_does_not_stop_the_others(batch):
    root, table, lines = batch
    ok, failed = table.iloc[0], table.iloc[1]
    assert ok.status == "ok" and ok.ran == ["01_first", "02_second"]
    assert failed.status == "failed" and failed.ran == ["01_first"]
    assert (failed.failed_notebook, failed.failed_cell) == ("02_second", 4)
    assert failed.error == "ValueError: 02_second was asked to fail"
    assert Path(failed.executed) == root / "vitre-2022-demo-ci" / "notebooks" / "02_second.ipynb"
    assert "asked to fail" in Path(failed.log).read_text()
    assert (root / "chartres-2023-demo-ci" / "second.txt").read_text() == "CHARTRES 2023"
    assert any("vitre 2022 demo: failed (02_second cell 4" in line for line in lines)
    assert any("chartres 2023 demo: ok" in line for line in lines)


def test_each_run_has_a_report_and_the_batch_an_index(batch):
    root, table, _ = batch
    for run in ("chartres-2023-demo-ci", "vitre-2022-demo-ci"):
        assert (root / run / "index.html").is_file()
        assert (root / run / "report" / "01_first.html").is_file()
        assert (root / run / "report" / "01_first.nocode.html").is_file()
    failed_page = (root / "vitre-2022-demo-ci" / "index.html").read_text()
    assert "failed" in failed_page and "02_second.error.log" in failed_page
    index = (root / "index.html").read_text()
    assert "chartres-2023-demo-ci/index.html" in index and "02_second cell 4" in index
    summary = pd.read_csv(root / "summary.csv")
    assert list(summary["run"]) == ["chartres-2023-demo-ci", "vitre-2022-demo-ci"]
    assert summary["seconds_01"].gt(0).all()


def test_a_rerun_resumes_and_runs_only_what_changed(batch):
    root, _, _ = batch
    lines = []
    again = rerun(_runs(root), notebooks=TINY, report=lines.append)  # vitre no longer fails
    assert list(again.status) == ["ok", "ok"]
    assert again.iloc[0].unchanged == ["01_first", "02_second"] and again.iloc[0].ran == []
    # vitre: its parameters changed (fail_in), so both run again
    assert again.iloc[1].ran == ["01_first", "02_second"]
    assert any("01_first: unchanged" in line for line in lines)  # [1/n] 01_first: ...
    third = rerun(_runs(root), notebooks=TINY, report=None)
    assert third.ran.map(len).sum() == 0 and third.unchanged.map(len).sum() == 4
    # a product rewritten by hand: the notebook that made it and those after run again
    product = root / "chartres-2023-demo-ci" / "first.txt"
    product.write_text("chartres 2023")
    os.utime(product, ns=(product.stat().st_atime_ns, product.stat().st_mtime_ns + 10**9))
    fourth = rerun(_runs(root), notebooks=TINY, report=None)
    assert fourth.iloc[0].ran == ["01_first", "02_second"] and fourth.iloc[1].ran == []
    forced = rerun(_runs(root), notebooks=TINY, force=True, report=None)
    assert forced.ran.map(len).sum() == 4


def test_a_changed_upstream_makes_the_next_notebooks_run(tmp_path):
    runs = batch_from({"run_root": str(tmp_path)})
    rerun(runs, notebooks=TINY, report=None)
    rerun(runs, notebooks=TINY[:1], force=True, report=None)  # 01 alone, again
    after = rerun(runs, notebooks=TINY, report=None)
    assert after.iloc[0].unchanged == ["01_first"] and after.iloc[0].ran == ["02_second"]


def test_an_unknown_parameter_is_named_before_anything_runs(tmp_path):
    runs = batch_from({"run_root": str(tmp_path), "max_clouds": 60})
    with pytest.raises(ConfigError) as err:
        rerun(runs, notebooks=TINY, report=None)
    message = str(err.value)
    assert "No notebook has a parameter 'max_clouds'" in message
    assert "01_first: aoi, epsg, fail_in, max_cloud" in message
    assert not any(tmp_path.iterdir())
    with pytest.raises(ConfigError, match=r"run vitre 2016 demo: year=2016 is out of range"):
        rerun(
            batch_from({"run_root": str(tmp_path)}, grid={"region": ["vitre"], "year": [2016]}),
            TINY,
        )
    with pytest.raises(ConfigError, match=r"notebook '07'"):
        rerun(batch_from({"run_root": str(tmp_path)}, notebooks={"07": {"x": 1}}), TINY)


def test_batch_files(tmp_path):
    path = tmp_path / "runs.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "parameters": {"profile": "ci", "max_cloud": 60},
                "grid": {"region": ["chartres", "vitre"], "year": [2022, 2023]},
                "runs": [{"region": "auch", "year": 2022, "stac": "demo:planetary-computer"}],
                "notebooks": {"04": {"models": ["xgboost"]}},
            }
        )
    )
    specs = load_batch(path)
    assert len(specs) == 5 and specs[0].parameters["region"] == "auch"
    assert {(s.parameters["region"], s.parameters["year"]) for s in specs[1:]} == {
        ("chartres", 2022),
        ("chartres", 2023),
        ("vitre", 2022),
        ("vitre", 2023),
    }
    assert all(
        s.parameters["max_cloud"] == 60 and s.notebooks == {"04": {"models": ["xgboost"]}}
        for s in specs
    )
    path.write_text("region: vitre\nyear: 2022\n")  # papermill's -f: one run
    assert load_batch(path) == [RunSpec({"region": "vitre", "year": 2022})]
    path.write_text("parameters: {year: 2022}\nregion: vitre\n")
    with pytest.raises(ConfigError, match=r"loose parameters \['region'\]"):
        read_batch_file(path)
    path.write_text("grid: {region: vitre}\n")
    with pytest.raises(ConfigError, match=r"grid: region must be a list"):
        load_batch(path)
    path.write_text("- region: vitre\n")
    with pytest.raises(ConfigError, match=r"must hold a mapping"):
        load_batch(path)
    with pytest.raises(ConfigError, match=r"No parameter file"):
        load_batch(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"twice"):
        batch_from(runs=[{"region": "vitre"}, {"region": "vitre"}])


def test_the_command_reports_failures_and_exits_nonzero(tmp_path, capsys):
    params = tmp_path / "runs.yaml"
    params.write_text(
        yaml.safe_dump({"runs": [{"year": 2023}, {"year": 2022, "fail_in": "01_first"}]})
    )
    code = main(
        ["rerun", "-f", str(params), "--run-root", str(tmp_path / "runs"), "--notebooks", *TINY]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert (
        "chartres 2022 demo failed 01_first, cell 4: ValueError: 01_first was asked to fail" in err
    )
    assert "executed notebook: " in err and "01_first.error.log" in err
    assert (
        main(["rerun", "-p", "max_clouds", "60", "--run-root", str(tmp_path), "--notebooks", *TINY])
        == 2
    )
    assert "No notebook has a parameter 'max_clouds'" in capsys.readouterr().err


@pytest.mark.notebook
@pytest.mark.server
def test_the_summary_table_holds_the_runs_metrics(demo_run):
    cfg, _ = demo_run
    table = summary_table([cfg.run_dir, cfg.run_dir.parent / "not-a-run"])
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    scores = manifest["notebooks"]["04_model_training"]["metrics"]
    metrics = json.loads((cfg.run_dir / "metrics.json").read_text())
    assert list(table["model"]) == list(scores)
    for row in table.itertuples():
        assert row.run == cfg.run_dir.name and row.area == cfg.area.name
        assert row.provider == "demo" and row.season == "2023-01-01/2023-12-31"
        assert row.macro_f1_tier4 == scores[row.model]["macro_f1_tier4"]
        assert row.macro_f1_tier1 == pytest.approx(
            metrics[row.model]["test"]["tier1"]["macro_f1"], abs=1e-4
        )
        assert row.overall_accuracy == scores[row.model]["overall_accuracy"]
        assert (
            row.clear_share
            == manifest["notebooks"]["02_cloud_masking"]["metrics"]["mean_clear_share"]
        )
        assert row.seconds_04 > 0


def test_runs_in_parallel_on_a_dask_cluster(tmp_path):
    runs = batch_from(
        {"run_root": str(tmp_path)}, grid={"region": ["chartres", "vitre"], "year": [2023]}
    )
    table = rerun(runs, notebooks=TINY, jobs=2, report=None)
    assert list(table.status) == ["ok", "ok"]
    assert list(table.run_dir) == [
        str(tmp_path / f"{r}-2023-demo-ci") for r in ("chartres", "vitre")
    ]
    assert (tmp_path / "vitre-2023-demo-ci" / "second.txt").read_text() == "VITRE 2023"


def test_a_killed_batch_picks_up_where_it_stopped(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    params = tmp_path / "runs.yaml"
    params.write_text(yaml.safe_dump({"grid": {"region": ["chartres", "vitre"]}}))
    command = [sys.executable, "-m", "cropkit", "rerun", "-f", str(params)]
    command += ["--run-root", str(tmp_path / "runs"), "--notebooks", *TINY]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "runs" / "chartres-2023-demo-ci" / "index.html"
    deadline = time.monotonic() + 120
    while not first.exists() and time.monotonic() < deadline:  # the first run is done
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    runs = batch_from({"run_root": str(tmp_path / "runs")}, grid={"region": ["chartres", "vitre"]})
    again = rerun(runs, notebooks=TINY, report=None)
    assert again.iloc[0].unchanged == ["01_first", "02_second"] and again.iloc[0].ran == []
    assert again.iloc[1].status == "ok" and again.iloc[1].unchanged != ["01_first", "02_second"]
