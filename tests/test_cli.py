import pytest

from cropkit.cli import main


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
