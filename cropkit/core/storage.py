"""When the file system says no: one clear error for a full disk, a read-only folder, ...

Every ``OSError`` that reaches a user (a product written to a full disk, a run root on a
read-only file system, a folder without permission, too many open files) becomes a
:class:`~cropkit.core.errors.StorageError` that names the path and the fix
(:func:`storage_error`); the command line and the notebook runner translate the ones
they meet, and :func:`check_writable` refuses a run root before anything starts.

Examples
--------
>>> check_writable("runs")                                      # doctest: +SKIP
PosixPath('runs')
>>> with storage_errors("runs/x/datasets/pixels.zarr", needed=2**30):  # doctest: +SKIP
...     ds.to_zarr(...)
"""

from __future__ import annotations

import errno
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StorageError

__all__ = [
    "storage_error",
    "storage_errors",
    "check_writable",
    "explain_os_failure",
    "describe_bytes",
    "OS_ERRNOS",
]

#: The failures of the file system that cropkit explains (errno -> what happened).
OS_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission is denied",
    errno.EPERM: "the operation is not permitted",
    errno.EMFILE: "this process has too many open files",
    errno.ENFILE: "the system has too many open files",
}


def describe_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _existing(path: Path) -> Path:
    """The nearest folder of ``path`` that exists (where a disk can be measured)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _fix(code: int, folder: Path, needed: int | None) -> str:
    if code in (errno.ENOSPC, errno.EDQUOT):
        free = shutil.disk_usage(_existing(folder)).free
        want = f"; the product holds {describe_bytes(needed)} before compression" if needed else ""
        return (
            f"{describe_bytes(free)} free on the disk that holds {folder}{want}. Free some "
            "space, or choose a run root on another disk (cropkit demo --run-root DIR, the "
            "notebooks' run_root parameter), then run again: nothing half-written was kept."
        )
    if code == errno.EROFS:
        return (
            f"{folder} cannot be written: choose a writable run root (cropkit demo "
            "--run-root DIR, the notebooks' run_root parameter)."
        )
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"this user may not write {folder}: choose a folder of yours as the run root "
            "(--run-root DIR), or ask its owner for write permission."
        )
    if code in (errno.EMFILE, errno.ENFILE):
        return (
            "raise the limit of open files (`ulimit -n 4096` in the shell that starts "
            "cropkit), or run fewer runs at once (--jobs)."
        )
    return "check that the folder exists and can be written, then run again."


def storage_error(
    err: OSError, path: str | Path | None = None, needed: int | None = None
) -> StorageError:
    """``err`` as a :class:`StorageError` that names the path and the fix.

    Parameters
    ----------
    err : OSError
        What the file system said.
    path : path-like, optional
        What was being written or read (the error's own file name by default).
    needed : int, optional
        Bytes the product needed (said when the disk is full).
    """
    if isinstance(err, StorageError):
        return err
    where = Path(path or err.filename or ".")
    what = OS_ERRNOS.get(err.errno, err.strerror or type(err).__name__)
    out = StorageError(
        err.errno,
        f"Could not write {where}: {what} ({err.strerror or err}). "
        + _fix(err.errno, where.parent if where.suffix else where, needed),
    )
    out.filename = str(where)
    return out


@contextmanager
def storage_errors(path: str | Path, needed: int | None = None) -> Iterator[None]:
    """Raise the file system's refusals inside the block as :class:`StorageError`."""
    try:
        yield
    except StorageError:
        raise
    except OSError as err:
        if err.errno not in OS_ERRNOS:
            raise
        raise storage_error(err, path, needed) from err


def check_writable(folder: str | Path) -> Path:
    """Make sure ``folder`` can be created and written, before a run writes anything.

    Returns
    -------
    pathlib.Path
        The folder (created if missing).

    Raises
    ------
    StorageError
        Naming the folder and the fix (a read-only file system, no permission, a full
        disk).
    """
    folder = Path(folder)
    with storage_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cropkit-write-test-"):
            pass
    return folder


#: ``[Errno 28] No space left on device: '/runs/x'`` in an error's text.
ERRNO_TEXT = re.compile(r"\[Errno (\d+)\][^:]*(?::\s*'([^']*)')?")


def explain_os_failure(text: str) -> str | None:
    """The fix for an OS error known only by its text (an error raised in a notebook)."""
    match = ERRNO_TEXT.search(text or "")
    if not match or int(match[1]) not in OS_ERRNOS:
        return None
    code, path = int(match[1]), Path(match[2] or ".")
    return f"{OS_ERRNOS[code].capitalize()}: " + _fix(
        code, path.parent if path.suffix else path, None
    )
