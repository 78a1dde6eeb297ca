import json
import os
import subprocess
import sys
import textwrap

import pytest

from cropkit.core.errors import RunLockedError
from cropkit.core.locks import LOCK_FILE, RunLock, holder, sweep_leftovers, temporary_sibling

HOLD = textwrap.dedent(
    """
    import sys, time
    from cropkit.core.locks import RunLock
    with RunLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
    """
)


@pytest.fixture
def other_holder(tmp_path):
    """A second process that holds the lock of tmp_path / 'run'."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_writer_is_told_who_holds_the_folder(tmp_path, other_holder):
    with pytest.raises(RunLockedError) as err:
        RunLock(tmp_path / "run", wait=0.5).acquire()
    message = str(err.value)
    assert f"PID {other_holder.pid}" in message and "another run_root" in message
    assert holder(tmp_path / "run")["pid"] == other_holder.pid


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path, other_holder):
    other_holder.kill()
    other_holder.wait()
    with RunLock(tmp_path / "run", wait=0) as lock:
        assert holder(lock.folder)["pid"] == os.getpid()
    assert (tmp_path / "run" / LOCK_FILE).read_text() == ""  # released: no holder named


def test_locks_are_reentrant_and_shared_with_child_processes(tmp_path):
    folder = tmp_path / "run"
    child = "from cropkit.core.locks import RunLock; import sys; RunLock(sys.argv[1]).acquire()"
    with RunLock(folder), RunLock(folder):
        done = subprocess.run([sys.executable, "-c", child, str(folder)], timeout=60)
        assert done.returncode == 0  # the kernel of a notebook run writes under the CLI's lock
        stranger = {k: v for k, v in os.environ.items() if k != "CROPKIT_RUN_LOCKS"}
        refused = subprocess.run(
            [sys.executable, "-c", child, str(folder)], env=stranger, capture_output=True, text=True
        )
        assert refused.returncode == 1 and "RunLockedError" in refused.stderr
    assert json.loads((folder / LOCK_FILE).read_text() or "null") is None
    assert str(folder.resolve()) not in os.environ.get("CROPKIT_RUN_LOCKS", "")


def test_leftovers_of_dead_writers_are_swept_and_live_ones_kept(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    (tmp_path / "datasets").mkdir()
    stale = tmp_path / "datasets" / f".pixels.zarr.tmp-{dead}-0a1b2c3d"
    stale.mkdir()
    (stale / "0.0").write_bytes(b"x")
    swapped = tmp_path / f".metrics.json.old-{dead}-0a1b2c3d"
    swapped.write_text("{}")
    mine = temporary_sibling(tmp_path / "s2_composite.zarr")
    mine.mkdir()
    assert sorted(p.name for p in sweep_leftovers(tmp_path)) == sorted([stale.name, swapped.name])
    assert mine.exists() and not stale.exists() and not swapped.exists()


def test_a_product_write_sweeps_only_its_own_leftovers(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    mine = tmp_path / f".s2.zarr.tmp-{dead}-00000000"
    other = tmp_path / f".s1.zarr.tmp-{dead}-00000000"
    deeper = tmp_path / "sub" / f".s2.zarr.tmp-{dead}-00000000"
    for path in (mine, other, deeper):
        path.mkdir(parents=True)
    assert sweep_leftovers(tmp_path, "s2.zarr") == [mine]
    assert other.exists() and deeper.exists()
