import re

import pytest

from cropkit.face.cli import main


def test_unknown_region_is_a_clean_error(capsys):
    assert main(["build-demo", "--region", "gotham"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cropkit: error: UnknownRegionError: Unknown region 'gotham'")
    assert "Traceback" not in err


def test_build_demo_prints_what_it_made(capsys, private_cache):
    args = [
        "build-demo",
        "--region",
        "beziers",
        "--year",
        "2022",
        "--zone-px",
        "32",
        "--zones",
        "1",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "cropkit: demo in" in out and "beziers-2022-1x1x32" in out
    assert '"sentinel-2-c1-l2a": 73' in out and '"enmap-l2a": 3' in out


@pytest.mark.notebook
def test_a_failing_notebook_is_reported_by_its_error_cell_and_files(capsys, tmp_path):
    """05 on a run without trained models: the cropkit error first, then where to look."""
    assert main(["demo", "--notebooks", "05", "--run-root", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    executed = next(tmp_path.glob("*/notebooks/05_attention_visualization.ipynb"))
    assert f"executed notebooks go to {executed.parent}" in out
    progress = [line for line in out.splitlines() if line.startswith("cropkit: [1/1]")]
    assert progress[0] == "cropkit: [1/1] 05_attention_visualization: running"
    assert re.fullmatch(
        r"cropkit: \[1/1\] 05_attention_visualization: failed in cell \d+ \(\d+\.\d s\)",
        progress[1],
    )
    lines = err.splitlines()
    assert lines[0].startswith(
        "cropkit: 05_attention_visualization failed: DataError: The run "
    ) and lines[0].endswith(
        "has no trained model with saved predictions: run notebook "
        "04_model_training for this run first (it saves models/ and "
        "predictions_<model>.parquet)."
    )
    assert lines[1].startswith("  in notebook 05_attention_visualization, cell In [")
    assert lines[2] == f"  executed notebook: {executed}"
    log = executed.with_suffix(".error.log")
    assert lines[3] == f"  full traceback: {log}" and len(lines) == 4
    assert "Traceback" in log.read_text() and "check_trained" in log.read_text()


def test_a_read_only_run_root_is_refused_before_anything_runs(capsys, tmp_path):
    from filesystems import tmpfs

    with tmpfs(tmp_path / "ro", 1, read_only=True) as root:
        for args in (
            ["demo", "--run-root", str(root / "runs")],
            ["rerun", "--region", "chartres", "--run-root", str(root / "runs")],
        ):
            assert main(args) == 2, args
            err = capsys.readouterr().err
            assert err.startswith("cropkit: error: StorageError: Could not write ")
            assert "read-only" in err and "--run-root DIR" in err and "Traceback" not in err
        assert list(root.iterdir()) == []


def test_train_refuses_bad_settings_and_a_missing_folder_by_name(capsys, tmp_path):
    (tmp_path / "datasets").mkdir()
    for setting, says in (
        ("learning_rate=-0.3", "learning_rate must be a positive number, not -0.3."),
        ("n_estimators=ten", "n_estimators must be a positive number, not 'ten'."),
    ):
        assert main(["train", str(tmp_path), "--model", "xgboost", "--set", setting]) == 2
        assert capsys.readouterr().err == f"cropkit: error: ConfigError: {says}\n"
    assert main(["train", str(tmp_path / "nowhere"), "--model", "xgboost"]) == 2
    assert f"{tmp_path / 'nowhere'} does not exist: give the path" in capsys.readouterr().err


@pytest.mark.notebook
def test_a_damaged_manifest_is_one_clear_error_in_every_command(demo_run, tmp_path, capsys):
    import shutil

    cfg, _ = demo_run
    copy = tmp_path / cfg.run_dir.name
    shutil.copytree(cfg.run_dir, copy, ignore=shutil.ignore_patterns("*.zarr", "report"))
    text = (copy / "manifest.json").read_text()
    (copy / "manifest.json").write_text(text[: len(text) // 2])  # cut short
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cropkit: error: DamagedProductError: {copy / 'manifest.json'} is ")
    assert "damaged (not valid JSON" in err and "JSONDecodeError" not in err
    from cropkit.face.reruns import summary_table

    with pytest.raises(Exception, match="is damaged") as caught:
        summary_table([copy])
    assert type(caught.value).__name__ == "DamagedProductError"


def test_demo_takes_notebook_parameters_and_names_an_unknown_one(capsys, tmp_path):
    args = ["demo", "--run-root", str(tmp_path), "-p", "modelz", "[xgboost]"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("cropkit: error: ConfigError: No notebook has a parameter 'modelz'")
    assert "04_model_training: " in err and "models" in err  # the parameters it could be
    assert list(tmp_path.iterdir()) == []  # refused before anything ran
