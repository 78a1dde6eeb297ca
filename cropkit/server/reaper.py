"""Stop a local STAC API whose owner died without stopping it.

A Jupyter kernel that is killed, or shut down without running its ``atexit``
handlers, would leave PostgreSQL and uvicorn running and the cluster folder on disk.
:class:`~cropkit.server.LocalStacServer` therefore starts this small watcher in its own
session; it polls the owner's PID and, once the owner is gone, stops uvicorn and
PostgreSQL and deletes the cluster. It exits at once when the server was stopped
normally (the cluster folder is gone).

Run as ``python -m cropkit.server.reaper OWNER_PID UVICORN_PID CLUSTER_ROOT PORT``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

__all__ = ["alive", "main"]


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("State:"):
                return "Z" not in line.split()[1]
    return True


def _terminate(pid: int, grace: float = 5.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(argv: list[str] | None = None, poll: float = 1.0) -> int:
    """Watch the owner; clean up after it. Returns 0."""
    owner, uvicorn_pid, root, port = (argv or sys.argv[1:])[:4]
    root_path = Path(root)
    while root_path.exists() and alive(int(owner)):
        time.sleep(poll)
    if not root_path.exists():
        return 0  # stopped normally by its owner
    _terminate(int(uvicorn_pid))
    from .postgres import PostgresCluster

    PostgresCluster.attach(root_path, int(port)).stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
