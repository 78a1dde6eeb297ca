"""Small file systems for tests of what cropkit does when the disk says no (root only)."""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@contextmanager
def tmpfs(path: Path, size_mb: float, read_only: bool = False):
    """A tmpfs of ``size_mb`` at ``path`` (read-only if asked) for the ``with`` block.

    Skips the test where it cannot be mounted (not root, no ``mount``).
    """
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={int(size_mb * 1024)}k", "tmpfs", str(path))
    try:
        if read_only:
            _mount("-o", "remount,ro", str(path))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def resize(path: Path, size_mb: float) -> None:
    """Give a mounted tmpfs another size."""
    _mount("-o", f"remount,size={int(size_mb * 1024)}k", str(path))
