"""Write locks on run folders, and sweeping up what a killed writer left.

One process writes a run folder at a time. :class:`RunLock` is an advisory lock
(``fcntl.flock`` on ``<run>/.cropkit.lock``) with a note of its holder (PID, start
time, command, host) beside it, so a second writer can be told who holds the folder.
The kernel drops the lock when its holder dies, however it dies, so a stale lock
(a killed run) is simply taken over: there is nothing to clean by hand.

Locks are re-entrant within a process and shared with the child processes started
while they are held (through the ``CROPKIT_RUN_LOCKS`` environment variable):
``cropkit demo`` holds the lock of its run folder for the whole notebook sequence, and
the notebook kernels it starts write under it; so do the DDP processes of
``cropkit train``.

Examples
--------
>>> with RunLock("runs/chartres-2023-demo-ci", wait=30):   # doctest: +SKIP
...     ...   # write products
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

from .errors import RunLockedError

__all__ = [
    "RunLock",
    "LOCK_FILE",
    "run_folder_of",
    "holder",
    "temporary_sibling",
    "sweep_leftovers",
    "pid_alive",
]

#: The lock file in a run folder (its content describes the holder).
LOCK_FILE = ".cropkit.lock"
#: Environment variable listing the run folders whose lock an ancestor process holds.
ENV = "CROPKIT_RUN_LOCKS"
#: Marker of the manifest that makes a folder a run folder.
_MANIFEST = "manifest.json"

# folder -> (open lock file, depth), for re-entrant locking within this process
_held: dict[str, tuple[object, int]] = {}


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        return True
    return True


def holder(folder: str | Path) -> dict | None:
    """The holder recorded in a folder's lock file (None if none was ever recorded)."""
    path = Path(folder) / LOCK_FILE
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, json.JSONDecodeError):
        return None


def _describe(info: dict | None) -> str:
    if not info:
        return "another process"
    return (
        f"PID {info.get('pid')} on {info.get('host')}, started {info.get('started')}: "
        f"{info.get('command')}"
    )


def _inherited() -> set[str]:
    return {p for p in os.environ.get(ENV, "").split(os.pathsep) if p}


class RunLock:
    """An exclusive write lock on a run folder.

    Parameters
    ----------
    folder : path-like
        The run folder (created if missing).
    wait : float
        Seconds to wait for another holder before giving up (0: give up at once).

    Raises
    ------
    RunLockedError
        From ``acquire`` (or ``with``) when another live process holds the folder
        after ``wait`` seconds; the message names the holder and the way out.
    """

    def __init__(self, folder: str | Path, wait: float = 0.0) -> None:
        self.folder = Path(folder).resolve()
        self.wait = float(wait)
        self._mine = False

    @property
    def key(self) -> str:
        """The folder's absolute path, as a string."""
        return str(self.folder)

    def acquire(self) -> RunLock:
        """Take the lock (re-entrant; a no-op under a parent process that holds it)."""
        if self.key in _held:
            handle, depth = _held[self.key]
            _held[self.key] = (handle, depth + 1)
            self._mine = True
            return self
        if self.key in _inherited():
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK_FILE
        handle = open(path, "a+")  # noqa: SIM115 (held open while locked)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    info = holder(self.folder)
                    handle.close()
                    raise RunLockedError(
                        f"The run folder {self.folder} is being written by {_describe(info)}. "
                        "Wait for that run to finish (or stop it), or give this run another "
                        "run_root."
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "command": " ".join(sys.argv) or sys.executable,
                }
            )
        )
        handle.flush()
        _held[self.key] = (handle, 1)
        self._mine = True
        os.environ[ENV] = os.pathsep.join(sorted(_inherited() | {self.key}))  # for children
        return self

    def release(self) -> None:
        """Drop the lock (the outermost release of this process unlocks the file)."""
        if not self._mine:
            return
        self._mine = False
        handle, depth = _held[self.key]
        if depth > 1:
            _held[self.key] = (handle, depth - 1)
            return
        del _held[self.key]
        os.environ[ENV] = os.pathsep.join(sorted(_inherited() - {self.key}))
        handle.seek(0)
        handle.truncate()
        handle.flush()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def run_folder_of(path: str | Path) -> Path | None:
    """The run folder that holds ``path`` (the nearest parent with a manifest), if any."""
    for parent in Path(path).resolve().parents:
        if (parent / _MANIFEST).exists() or (parent / LOCK_FILE).exists():
            return parent
    return None


def temporary_sibling(path: str | Path, kind: str = "tmp") -> Path:
    """A path beside ``path`` unique to this process and call: ``.<name>.<kind>-<pid>-<id>``.

    Writers write there and rename onto ``path`` when complete, so a product under its
    final name is always whole, and two writers never share a temporary path.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def sweep_leftovers(folder: str | Path, name: str | None = None) -> list[Path]:
    """Delete the temporary paths that writers which are no longer running left behind.

    Parameters
    ----------
    folder : path-like
        A run folder (searched with its sub-folders), or the folder of ``name``.
    name : str, optional
        Only the leftovers of this product, beside it (not in sub-folders).

    Returns
    -------
    list of pathlib.Path
        The paths removed (a killed run leaves ``.<name>.tmp-<pid>-<id>`` while it
        writes and ``.<name>.old-<pid>-<id>`` while it swaps a product in).
    """
    removed = []
    folder = Path(folder)
    found = folder.glob(f".{name}.*-*-*") if name else folder.rglob(".*-*-*")
    for path in found:
        stem = path.name.rsplit(".", 1)[-1]  # "<kind>-<pid>-<id>"
        kind, _, rest = stem.partition("-")
        pid = rest.split("-")[0]
        if kind not in ("tmp", "old") or not pid.isdigit():
            continue
        if pid_alive(int(pid)) and int(pid) != os.getpid():
            continue
        if int(pid) == os.getpid() and kind == "tmp":
            continue  # our own write in progress
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
