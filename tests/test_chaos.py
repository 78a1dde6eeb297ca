"""Chaos: two runs on one run folder at once, and a run killed at several points.

Both work on a copy of the folder that the notebook tests' run (``demo_run``) made, and
run notebook 04 alone with a small budget, as ``cropkit demo --notebooks 04`` would.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from conftest import DEMO_AOI, DEMO_ZONE_KM

from cropkit.config import RunConfig
from cropkit.core.locks import RunLock, holder
from cropkit.core.store import open_zarr
from cropkit.face.cli import main

pytestmark = [pytest.mark.notebook, pytest.mark.server]

#: Notebook 04 with one quick model and no studies.
FAST = {
    "models": ["xgboost"],
    "studies": {"leakage_report": False},
    "training": {"max_train_pixels": 2000},
}

RUN_04 = """
import json, sys
from cropkit.config import RunConfig
from cropkit.face.notebooks import run_notebooks
config, fast = (json.loads(arg) for arg in sys.argv[1:])
run_notebooks(RunConfig(**config), ["04"], overrides={"04": fast})
"""


def start_04(cfg: RunConfig) -> subprocess.Popen:
    """Notebook 04 of ``cfg``'s run in a process of its own (the runner, as the CLI runs it)."""
    return subprocess.Popen(
        [sys.executable, "-c", RUN_04, json.dumps(cfg.parameters()), json.dumps(FAST)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def scores(run_dir: Path) -> dict:
    """The xgboost entry of ``metrics.json``, less its timings."""
    entry = json.loads((run_dir / "metrics.json").read_text())["xgboost"]
    entry["info"] = {k: v for k, v in entry["info"].items() if not k.endswith("_seconds")}
    return entry


def assert_whole(run_dir: Path) -> None:
    """Every product under its final name opens; the folder's lock is free."""
    for store in run_dir.rglob("*.zarr"):
        if not store.name.startswith("."):
            open_zarr(store)  # raises DamagedProductError on a half product
    for table in run_dir.rglob("*.json"):
        if not table.name.startswith("."):
            json.loads(table.read_text())
    with RunLock(run_dir, wait=0):
        pass


@pytest.fixture(scope="module")
def chaos_run(demo_run, tmp_path_factory):
    cfg, _ = demo_run
    root = tmp_path_factory.mktemp("chaos")
    shutil.copytree(cfg.run_dir, root / cfg.run_dir.name)
    return RunConfig(**{**cfg.parameters(), "run_root": str(root)})


@pytest.fixture(scope="module")
def first_of_two(chaos_run):
    """Run 04, and while it runs, a second `cropkit demo` on the same folder."""
    cfg = chaos_run
    first = start_04(cfg)
    wait_for(lambda: (holder(cfg.run_dir) or {}).get("pid") == first.pid, 120, "the lock")
    return cfg, first


def test_a_second_run_on_a_busy_folder_is_refused_by_name_and_the_first_ends_whole(
    first_of_two, capsys
):
    cfg, first = first_of_two
    argv = ["demo", "--aoi", DEMO_AOI, "--zone-km", str(DEMO_ZONE_KM), "--run-root", cfg.run_root]
    assert main([*argv, "--notebooks", "04"]) == 2
    err = capsys.readouterr().err
    assert f"RunLockedError: The run folder {cfg.run_dir.resolve()} is being written by PID" in err
    assert f"PID {first.pid} " in err and "another run_root" in err
    output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output[-3000:]
    assert_whole(cfg.run_dir)
    assert 0 < scores(cfg.run_dir)["test"]["tier4"]["macro_f1"] < 1


#: Where the run is killed: a path that exists only while that step writes.
KILL_POINTS = {
    "writing the pixel dataset": "datasets/.pixels.zarr.tmp-*",
    "writing the crop map": "maps/.xgboost.zarr.tmp-*",  # after metrics.json, before the manifest
}


def test_a_run_killed_at_several_points_reruns_to_the_same_metrics(first_of_two):
    cfg, first = first_of_two
    first.wait(timeout=900)
    reference = scores(cfg.run_dir)
    killed_pids = []
    for point, pattern in KILL_POINTS.items():
        run = start_04(cfg)
        wait_for(lambda: any(cfg.run_dir.glob(pattern)), 600, point)  # noqa: B023
        family = psutil.Process(run.pid).children(recursive=True)  # kernel, dask workers
        run.kill()  # SIGKILL: no clean-up code runs
        run.wait()
        killed_pids.append(run.pid)
        gone, alive = psutil.wait_procs(family, timeout=60)
        assert not alive, f"killed while {point}: {alive} still run"
        assert_whole(cfg.run_dir)  # the killed write left no half product under its name
    rerun = start_04(cfg)
    output, _ = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, output[-3000:]
    assert scores(cfg.run_dir) == reference
    assert not list(cfg.run_dir.rglob(".*.tmp-*")) and not list(cfg.run_dir.rglob(".*.old-*"))
    leftovers = [
        p
        for pid in killed_pids
        for p in Path(tempfile.gettempdir()).glob(f"cropkit-kernels-{pid}-*")
    ]
    assert not leftovers  # the kernels' connection files of the killed runs are swept


#: What notebooks 03-06 leave in a run folder: a copy without them stands before 03.
AFTER_02 = (
    "*_composite.zarr",
    "enmap_clearest.zarr",
    "datasets",
    "models",
    "maps",
    "attention",
    "confusion",
    "report",
    "predictions_*",
    "metrics.json",
    "index.html",
    "0[3-6]_*",
    ".cropkit.lock",
)


def _demo_args(cfg: RunConfig, root: Path, notebooks: str) -> list[str]:
    return [
        "demo", "--aoi", DEMO_AOI, "--zone-km", str(DEMO_ZONE_KM), "--year", "2023",
        "--run-root", str(root), "--notebooks", notebooks,
    ]  # fmt: skip


def test_a_full_disk_fails_03_clearly_and_a_rerun_with_room_cleans_up(demo_run, tmp_path, capsys):
    """03 on a disk that holds 01-02 and 8 MB more: a StorageError, the report still written."""
    from filesystems import resize, tmpfs

    cfg, _ = demo_run
    staged = tmp_path / "staged" / cfg.run_dir.name
    shutil.copytree(cfg.run_dir, staged, ignore=shutil.ignore_patterns(*AFTER_02))
    used = sum(f.stat().st_size for f in staged.rglob("*") if f.is_file()) / 2**20
    with tmpfs(tmp_path / "disk", used + 8) as root:
        shutil.copytree(staged, root / staged.name)
        run_dir = root / staged.name
        assert main(_demo_args(cfg, root, "03")) == 2
        err = capsys.readouterr().err
        assert "03_composites failed" in err and "disk is full" in err.lower()
        assert "choose a run root on another disk" in err and "Traceback" not in err
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert "failed" in manifest["notebooks"]["03_composites"]  # as the report says
        index = (run_dir / "index.html").read_text()
        assert "03_composites</td><td><span class='failed'>failed" in index
        assert not [p for p in run_dir.rglob(".*tmp-*")]  # nothing half-written kept
        resize(root, used + 200)  # room again: the rerun succeeds and cleans up
        assert main(_demo_args(cfg, root, "03")) == 0
        out = capsys.readouterr().out
        assert "cropkit: [1/1] 03_composites: running\n" in out
        assert re.search(r"cropkit: \[1/1\] 03_composites: ran in \d+\.\d s\n", out)
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert "failed" not in manifest["notebooks"]["03_composites"]
        assert not (run_dir / "notebooks" / "03_composites.error.log").exists()
        assert "03_composites</td><td>done" in (run_dir / "index.html").read_text()
