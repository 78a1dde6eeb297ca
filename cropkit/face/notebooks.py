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
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..core.errors import ConfigError, CropkitError, NotebookFailedError
from ..core.locks import RunLock
from ..core.storage import OS_ERRNOS, check_writable, explain_os_failure, storage_error
from .kernels import LocalKernelManager, kernel_files

__all__ = [
    "LocalKernelManager",
    "notebook_paths",
    "resolve_notebooks",
    "run_notebooks",
    "execute_run",
    "NotebookOutcome",
    "execution_key",
    "check_overrides",
    "parameter_names",
]


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) of ``folder``, in order."""
    folder = Path(folder) if folder else Path(__file__).resolve().parents[2] / "notebooks"
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


def run_notebooks(
    config: RunConfig,
    notebooks: list[str | Path] | None = None,
    kernel_name: str = "python3",
    log_output: bool = False,
    overrides: dict[str, dict] | None = None,
    report: Callable[[str], None] | None = None,
    progress: bool = False,
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
    report : callable, optional
        Called with a line when each notebook starts and ends (``print`` in the CLI).
    progress : bool
        Show papermill's bar of the cells done while a notebook runs.

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
    outcomes, timings = execute_run(
        config, notebooks, kernel_name, log_output, overrides, report=report, progress=progress
    )
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return timings


@dataclass
class NotebookOutcome:
    """What became of one notebook of a run.

    Attributes
    ----------
    notebook : str
        Its name (``"02_cloud_masking"``).
    status : str
        ``"ran"``, ``"unchanged"`` (skipped: same parameters and inputs, products
        complete), ``"failed"`` or ``"not run"`` (after a failure).
    seconds : float
        Time spent executing it (0 when it did not run).
    executed : Path
        The executed copy, ``<run>/notebooks/<name>.ipynb``.
    error : NotebookFailedError or None
        The failure, with its cell and log.
    """

    notebook: str
    status: str
    seconds: float
    executed: Path
    error: NotebookFailedError | None = None


def execute_run(
    config: RunConfig,
    notebooks: list[str | Path] | None = None,
    kernel_name: str = "python3",
    log_output: bool = False,
    overrides: dict[str, dict] | None = None,
    resume: bool = False,
    report: Callable[[str], None] | None = None,
    progress: bool = False,
) -> tuple[list[NotebookOutcome], dict[str, float]]:
    """Execute a run's notebooks in order; stop at the first that fails.

    Parameters
    ----------
    config, notebooks, kernel_name, log_output, overrides
        As for :func:`run_notebooks`.
    resume : bool
        Skip a notebook whose parameters, notebook source and upstream products are
        those of its last successful execution here and whose products are all still
        there as it left them (see :func:`execution_key`).
    report : callable, optional
        Called with a line when each notebook starts (``[4/6] 04_model_training:
        running``) and when it is skipped, has run (with its seconds) or failed.
    progress : bool
        Show papermill's bar of the cells done while a notebook runs (on stderr; not
        with ``log_output``, which streams the cells instead).

    Returns
    -------
    outcomes : list of NotebookOutcome
        One per notebook, in order (``"not run"`` after a failure).
    timings : dict
        Seconds per notebook run (plus ``"server_start"`` and ``"catalog_load"`` when a
        demo STAC API was started for the run).

    Raises
    ------
    ConfigError
        If an override names a parameter the notebook does not have (before anything runs).
    RunLockedError
        If another process is writing the run folder.
    StorageError
        If the run folder cannot be written (read-only, no permission, a full disk).
    """
    import papermill as pm

    from ..core.run import RunFolder
    from ..endpoint import shared_api

    say = report or (lambda line: None)
    paths = resolve_notebooks(notebooks)
    check_overrides(paths, overrides)
    check_writable(config.run_dir)  # a read-only or full run root: said before anything runs
    out_dir = config.run_dir / "notebooks"
    parameters = config.parameters()
    outcomes: list[NotebookOutcome] = []
    lock = RunLock(config.run_dir, wait=0)  # one run of a folder at a time
    with lock, kernel_files():  # the kernels started inside write under the lock
        run = RunFolder(config.run_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        todo = []
        tag = {path: f"[{k}/{len(paths)}] {path.stem}" for k, path in enumerate(paths, 1)}
        for path in paths:
            given = {**parameters, **_overrides_for(path, overrides)}
            key = execution_key(path, given, run.manifest())
            if resume and not todo and _unchanged(run, path, key):
                say(f"{tag[path]}: unchanged (same parameters, inputs and products), not run")
                outcomes.append(NotebookOutcome(path.stem, "unchanged", 0.0, out_dir / path.name))
            else:
                todo.append((path, given))
        needs_api = any(searches_stac(path) for path, _ in todo)  # 04-06 read the run folder
        with shared_api(config) if needs_api else contextlib.nullcontext({}) as timings:
            failed = None
            for path, given in todo:
                executed = out_dir / path.name
                if failed is not None:
                    outcomes.append(NotebookOutcome(path.stem, "not run", 0.0, executed))
                    continue
                before = _product_stamps(run)
                say(f"{tag[path]}: running")
                t0 = time.perf_counter()
                try:
                    pm.execute_notebook(
                        str(path),
                        str(executed),
                        parameters=given,
                        kernel_name=kernel_name,
                        log_output=log_output,
                        progress_bar=progress and not log_output,  # cells done, on stderr
                        cwd=str(Path.cwd()),
                        kernel_manager_class="cropkit.face.kernels.LocalKernelManager",
                    )
                except (pm.PapermillExecutionError, OSError) as err:
                    if isinstance(err, OSError) and err.errno not in OS_ERRNOS:
                        raise
                    failed = _failure(path.stem, err, executed)
                    seconds = round(time.perf_counter() - t0, 2)
                    _record_failure(run, path, failed)
                    say(f"{tag[path]}: failed in cell {failed.cell} ({seconds:.1f} s)")
                    outcomes.append(NotebookOutcome(path.stem, "failed", seconds, executed, failed))
                    continue
                seconds = round(time.perf_counter() - t0, 2)
                timings[path.stem] = seconds
                executed.with_suffix(".error.log").unlink(missing_ok=True)  # an older failure's
                _record_execution(run, path, given, before, seconds)
                say(f"{tag[path]}: ran in {seconds:.1f} s")
                outcomes.append(NotebookOutcome(path.stem, "ran", seconds, executed))
    return outcomes, timings


def check_overrides(paths: list[Path], overrides: dict[str, dict] | None) -> None:
    """Refuse an override that names a parameter its notebook does not have.

    A grouped parameter (notebook 04's ``training`` and ``studies``) is checked whole: a
    setting it does not have, or a wrong value of one, is named too.

    Raises
    ------
    ConfigError
        Naming the parameter and listing the notebook's parameters (papermill itself
        would only warn and go on without it).
    """
    from ..stages.parameters import GROUPS, rules

    for path in paths:
        given = _overrides_for(path, overrides)
        unknown = sorted(set(given) - set(parameter_names(path)))
        if unknown:
            raise ConfigError(
                f"{path.stem} has no parameter {', '.join(map(repr, unknown))}; its parameters "
                f"are: {', '.join(parameter_names(path))}."
            )
        for name in set(given) & set(GROUPS):  # a grouped one: its settings too
            rules(path.stem)[name](name, given[name])


def execution_key(notebook: str | Path, parameters: dict, manifest: dict) -> str:
    """A digest of what a notebook's execution depends on.

    The notebook's source, the parameters it is given, the cropkit version and the
    state of the notebooks before it in the sequence (when each last recorded its
    products, and the key of its own execution), so that an upstream notebook that ran
    again, by hand or headless, makes the notebooks after it run again too.

    Parameters
    ----------
    notebook : path-like
        The notebook (``NN_name.ipynb``).
    parameters : dict
        The parameters it is given.
    manifest : dict
        The run's manifest (:meth:`cropkit.core.run.RunFolder.manifest`).
    """
    from .. import __version__

    path = Path(notebook)
    upstream = [p.stem for p in notebook_paths(path.parent) if p.stem < path.stem]
    state = {
        "source": hashlib.sha256(path.read_bytes()).hexdigest(),
        "parameters": parameters,
        "cropkit": __version__,
        "upstream": {
            stem: [
                manifest.get("notebooks", {}).get(stem, {}).get("finished"),
                manifest.get("executions", {}).get(stem, {}).get("key"),
            ]
            for stem in upstream
        },
    }
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _product_stamps(run) -> dict[str, list]:
    """Product name -> [path, modification time (ns), size] of the products that exist."""
    out = {}
    for name, rel in run.manifest().get("products", {}).items():
        path = run.path / rel
        if path.exists():
            info = path.stat()
            out[name] = [str(rel), info.st_mtime_ns, info.st_size if path.is_file() else 0]
    return out


def _record_execution(run, path: Path, given: dict, before: dict, seconds: float) -> None:
    """Note in the manifest what this execution depended on and the products it left."""
    with run.lock():
        after = _product_stamps(run)
        manifest = run.manifest()
        made = {name: stamp for name, stamp in after.items() if before.get(name) != stamp}
        manifest.setdefault("executions", {})[path.stem] = {
            "key": execution_key(path, given, manifest),
            "finished": manifest.get("notebooks", {}).get(path.stem, {}).get("finished"),
            "products": made,
            "seconds": seconds,
        }
        run._write(manifest)


def _record_failure(run, path: Path, failure: NotebookFailedError) -> None:
    """Mark the notebook's entry failed, so the manifest and the report agree.

    Its products, if an earlier execution left any, are that execution's: the entry keeps
    them and says when it finished, and the next execution (resumed or not) runs it again.
    """
    try:
        with run.lock():
            manifest = run.manifest()
            entry = manifest.setdefault("notebooks", {}).setdefault(path.stem, {})
            entry["failed"] = {
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "cell": failure.cell,
                "error": f"{failure.ename}: {failure.evalue}"[:500],
            }
            manifest.get("executions", {}).pop(path.stem, None)
            run._write(manifest)
    except (CropkitError, OSError):  # a full disk: the report still shows the failure
        pass


def _unchanged(run, path: Path, key: str) -> bool:
    """Whether the last execution of ``path`` had this key and left its products as they are."""
    manifest = run.manifest()
    done = manifest.get("executions", {}).get(path.stem)
    if not done or done["key"] != key or not (run.path / "notebooks" / path.name).exists():
        return False
    if done["finished"] != manifest.get("notebooks", {}).get(path.stem, {}).get("finished"):
        return False  # it recorded again since (run by hand)
    now = _product_stamps(run)
    return all(now.get(name) == stamp for name, stamp in done["products"].items())


def searches_stac(path: Path) -> bool:
    """Whether a notebook connects to the STAC API in one of its cells.

    ``ck.connect(...)``, or ``source.stac`` of a :class:`~cropkit.endpoint.RunSource`.
    """
    import json

    cells = json.loads(Path(path).read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return any("ck.connect(" in text or "source.stac" in text for text in code)


def _failure(notebook: str, err, executed: Path) -> NotebookFailedError:
    """The failure of a notebook, its full traceback written beside the executed copy.

    An OS error raised in a cell (a full disk, a read-only folder) gets the fix appended
    (:func:`cropkit.core.storage.explain_os_failure`); one raised by papermill itself (writing
    the executed copy) becomes the failure, with no cell.
    """
    log = executed.with_suffix(".error.log")
    if isinstance(err, OSError):  # papermill could not write the executed copy (a full disk)
        refusal = storage_error(err, executed)
        return NotebookFailedError(notebook, None, "", "StorageError", str(refusal), executed, log)
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback))  # no terminal colours
    try:
        log.write_text(f"{notebook}, cell In [{err.exec_count}]:\n{err.source}\n\n{text}\n")
    except OSError:  # a full disk: the executed copy still holds the traceback
        log = executed
    evalue = err.evalue
    hint = explain_os_failure(evalue) if "Error" in (err.ename or "") else None
    if hint and hint not in evalue:
        evalue = f"{evalue}. {hint}"
    return NotebookFailedError(
        notebook, err.exec_count, err.source, err.ename, evalue, executed, log
    )


def _overrides_for(path: Path, overrides: dict[str, dict] | None) -> dict:
    out: dict = {}
    for key, values in (overrides or {}).items():
        if path.stem == key or path.stem.split("_")[0] == key:
            out.update(values)
    return out
