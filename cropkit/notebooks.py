"""Run the notebook sequence headlessly with papermill.

:func:`run_notebooks` executes the numbered notebooks in order for one region and
year, writes the executed copies into the run folder, and, for the demo, starts one
local STAC API that every notebook shares (through ``CROPKIT_STAC_API``) when one of
them searches it. It holds the run folder's write lock all along (the kernels write
under it), keeps the kernels' connection files in a folder of its own, and reports a
failing notebook by its cell, with the full traceback in a log file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum

from .config import RunConfig
from .errors import ConfigError, NotebookFailedError
from .locks import RunLock, pid_alive

__all__ = [
    "LocalKernelManager",
    "notebook_paths",
    "resolve_notebooks",
    "run_notebooks",
    "parameter_names",
    "notebook_parameters",
]


class LocalKernelManager(AsyncKernelManager):
    """Kernels that talk over Unix sockets beside their connection file: no TCP port open."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) of ``folder``, in order."""
    folder = Path(folder) if folder else Path(__file__).resolve().parent.parent / "notebooks"
    paths = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise ConfigError(f"No numbered notebooks (NN_name.ipynb) in {folder}.")
    return paths


def resolve_notebooks(names: list[str | Path] | None) -> list[Path]:
    """Turn notebook names (``"01_stac_discovery"``, ``"01"``) or paths into paths.

    Raises
    ------
    ConfigError
        If a name matches no numbered notebook; the message lists them.
    """
    available = notebook_paths()
    if not names:
        return available
    out = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.exists():
            out.append(path)
            continue
        match = [p for p in available if p.stem == str(name) or p.stem.startswith(f"{name}_")]
        if len(match) != 1:
            known = ", ".join(p.stem for p in available)
            raise ConfigError(f"No notebook called {str(name)!r}; the notebooks are: {known}.")
        out.append(match[0])
    return out


def parameter_names(notebook: str | Path) -> list[str]:
    """Names assigned in a notebook's ``parameters`` cell, in order.

    Raises
    ------
    ConfigError
        If the notebook has no cell tagged ``parameters``.
    """
    import ast
    import json

    path = resolve_notebooks([notebook])[0]
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse("".join(cell["source"]))
            return [
                target.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            ]
    raise ConfigError(f"{path.name} has no cell tagged 'parameters'.")


def notebook_parameters(notebook: str | Path, namespace: dict) -> dict:
    """The values of a notebook's parameters as the run used them, for the manifest.

    Reads the names from the notebook's ``parameters`` cell and their values from
    ``namespace`` (``globals()`` of the running notebook: papermill's injected values and
    any normalisation the notebook did), so a notebook records its parameters without
    retyping them.
    """
    return {name: namespace[name] for name in parameter_names(notebook) if name in namespace}


def run_notebooks(
    config: RunConfig,
    notebooks: list[str | Path] | None = None,
    kernel_name: str = "python3",
    log_output: bool = False,
    overrides: dict[str, dict] | None = None,
) -> dict[str, float]:
    """Execute notebooks in order with the run's parameters.

    Parameters
    ----------
    config : RunConfig
        Region, year, STAC endpoint, profile and run folder.
    notebooks : list of str or path-like, optional
        Which notebooks, by name (``"01_stac_discovery"`` or ``"01"``) or path; all
        numbered notebooks by default.
    kernel_name : str
        Jupyter kernel to execute them with.
    log_output : bool
        Stream cell outputs to the terminal.
    overrides : dict, optional
        Notebook name or number (``"04"``) -> extra parameters for that notebook only,
        e.g. ``{"04": {"folds": 0}}``.

    Returns
    -------
    dict
        Seconds spent per notebook (plus ``"server_start"`` for the demo).

    Raises
    ------
    ConfigError
        If an override names a parameter the notebook does not have (before anything runs).
    RunLockedError
        If another process is writing the run folder (the message names it).
    NotebookFailedError
        If a notebook fails: the error raised in the cell, the notebook and cell, the
        executed copy and the log file with the full traceback.
    """
    import papermill as pm

    from .endpoint import shared_api

    paths = resolve_notebooks(notebooks)
    for path in paths:  # a misspelt override is an error, not a parameter papermill ignores
        unknown = sorted(set(_overrides_for(path, overrides)) - set(parameter_names(path)))
        if unknown:
            raise ConfigError(
                f"{path.stem} has no parameter {', '.join(map(repr, unknown))}; its parameters "
                f"are: {', '.join(parameter_names(path))}."
            )
    out_dir = config.run_dir / "notebooks"
    parameters = config.parameters()
    lock = RunLock(config.run_dir, wait=0)  # one run of a folder at a time
    with lock, _kernel_files():  # the kernels started inside write under the lock
        out_dir.mkdir(parents=True, exist_ok=True)
        needs_api = any(_searches_stac(path) for path in paths)  # 04-06 read the run folder
        with shared_api(config) if needs_api else contextlib.nullcontext({}) as timings:
            for path in paths:
                t0 = time.perf_counter()
                executed = out_dir / path.name
                try:
                    pm.execute_notebook(
                        str(path),
                        str(executed),
                        parameters={**parameters, **_overrides_for(path, overrides)},
                        kernel_name=kernel_name,
                        log_output=log_output,
                        progress_bar=False,
                        cwd=str(Path.cwd()),
                        kernel_manager_class="cropkit.notebooks.LocalKernelManager",
                    )
                except pm.PapermillExecutionError as err:
                    raise _failure(path.stem, err, executed) from None
                timings[path.stem] = round(time.perf_counter() - t0, 2)
    return timings


def _searches_stac(path: Path) -> bool:
    """Whether a notebook connects to the STAC API (``ck.connect``) in one of its cells."""
    import json

    cells = json.loads(Path(path).read_text())["cells"]
    return any("ck.connect(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


def _failure(notebook: str, err, executed: Path) -> NotebookFailedError:
    """The failure of a notebook, its full traceback written beside the executed copy."""
    log = executed.with_suffix(".error.log")
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback))  # no terminal colours
    log.write_text(f"{notebook}, cell In [{err.exec_count}]:\n{err.source}\n\n{text}\n")
    return NotebookFailedError(
        notebook, err.exec_count, err.source, err.ename, err.evalue, executed, log
    )


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
def _kernel_files() -> Iterator[Path]:
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


def _overrides_for(path: Path, overrides: dict[str, dict] | None) -> dict:
    out: dict = {}
    for key, values in (overrides or {}).items():
        if path.stem == key or path.stem.split("_")[0] == key:
            out.update(values)
    return out
