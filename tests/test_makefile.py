"""The Makefile's verbs, as make would run them (``make -n``: nothing is executed)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_lab_starts_on_localhost_and_as_root_only_when_root():
    plan = subprocess.run(
        ["make", "-n", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    lab = next(line for line in plan if "jupyter lab" in line)
    assert "--ip=127.0.0.1" in lab and lab.endswith("notebooks/")
    assert ("--allow-root" in lab) == (os.geteuid() == 0)
