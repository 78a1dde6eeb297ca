"""The kernels of a headless run.

They talk over Unix sockets instead of TCP ports, and keep their connection files in a
folder of the run's own, deleted after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum, default

from ..core.locks import pid_alive

__all__ = ["LocalKernelManager", "kernel_files"]


class LocalKernelManager(AsyncKernelManager):
    """Kernels that talk over Unix sockets beside their connection file: no TCP port open.

    The sockets live in the runtime folder (``JUPYTER_RUNTIME_DIR``, one per run), under
    a name of their own, so that runs side by side never share one (jupyter_client
    would put every kernel's at ``kernel-ipc-<port>`` in the working folder).
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("ip")
    def _ip_default(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        from jupyter_core.paths import jupyter_runtime_dir

        runtime = jupyter_runtime_dir()  # cropkit's runs set one of their own
        os.makedirs(runtime, mode=0o700, exist_ok=True)  # a fresh machine may have none yet
        return os.path.join(runtime, f"kernel-{uuid.uuid4().hex[:12]}-ipc")


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the kernels started inside, then restore them."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_KERNEL_DIR = "cropkit-kernels-"


@contextlib.contextmanager
def kernel_files() -> Iterator[Path]:
    """A runtime folder of this run for the kernels' connection files, deleted after it.

    Folders that runs killed before their end left behind are deleted first.
    """
    root = Path(tempfile.gettempdir())
    for old in root.glob(f"{_KERNEL_DIR}*-*"):
        pid = old.name[len(_KERNEL_DIR) :].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{_KERNEL_DIR}{os.getpid()}-"))
    try:
        with _environment({"JUPYTER_RUNTIME_DIR": str(folder)}):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
