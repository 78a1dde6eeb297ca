"""Regional reruns: the notebook sequence for many runs, resumable, one summary.

A batch is a list of runs (areas or demo regions x years or seasons x providers),
each with its own run folder. It is written as papermill's parameter files are
(``-f params.yaml``), with three optional sections::

    parameters:            # for every run (any notebook parameter)
      profile: ci
      max_cloud: 60
    grid:                  # every combination of these
      region: [chartres, vitre]
      year: [2022, 2023]
    runs:                  # and/or these runs, one mapping each
      - {aoi: "-1.25,48.08,-1.15,48.14", season: winter, year: 2023, stac: earth-search}
    notebooks:             # parameters of one notebook only, for every run
      "04": {models: [xgboost]}

A plain mapping of parameters (a papermill ``-f`` file) is one run. A parameter goes
to every notebook whose ``parameters`` cell has it; one that none has is an error that
names it and lists the notebooks' parameters, before anything runs.

:func:`rerun` executes the runs one after the other, or several at a time on a dask
cluster (``jobs``, or a scheduler address), skipping each notebook whose parameters
and inputs are unchanged since its last execution and whose products are complete.
A failing run does not stop the others. Each run leaves its HTML report
(:mod:`cropkit.face.report`); the batch leaves ``summary.csv``, ``summary.png`` and an
``index.html`` that compares the runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import RunConfig
from ..core.errors import ConfigError, CropkitError
from ..core.run import summary_table
from ..core.storage import check_writable
from .notebooks import (
    check_overrides,
    execute_run,
    parameter_names,
    resolve_notebooks,
    searches_stac,
)

__all__ = [
    "RunSpec",
    "RunResult",
    "batch_from",
    "load_batch",
    "read_batch_file",
    "rerun",
    "summary_table",
]

#: Parameters that make the run (its :class:`~cropkit.config.RunConfig`).
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig) if f.init)
_SECTIONS = {"parameters", "grid", "runs", "notebooks"}


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch.

    Attributes
    ----------
    parameters : dict
        Its parameters: those of :class:`~cropkit.config.RunConfig` and any other
        notebook parameter (given to every notebook that has it).
    notebooks : dict
        Notebook name or number -> parameters for that notebook only.
    """

    parameters: dict
    notebooks: dict = field(default_factory=dict)

    def config(self) -> RunConfig:
        """The run's :class:`~cropkit.config.RunConfig` (checks its parameters)."""
        return RunConfig(**{k: v for k, v in self.parameters.items() if k in CONFIG_FIELDS})

    def overrides(self, paths: list[Path]) -> dict[str, dict]:
        """Notebook name -> the parameters it gets beyond the run's configuration.

        Raises
        ------
        ConfigError
            If a parameter is in none of the notebooks (named, with their parameters).
        """
        extra = {k: v for k, v in self.parameters.items() if k not in CONFIG_FIELDS}
        names = {path.stem: set(parameter_names(path)) for path in paths}
        unknown = sorted(k for k in extra if not any(k in have for have in names.values()))
        if unknown:
            listing = "; ".join(
                f"{stem}: {', '.join(sorted(have))}" for stem, have in names.items()
            )
            raise ConfigError(
                f"No notebook has a parameter {', '.join(map(repr, unknown))}. The notebooks' "
                f"parameters are: {listing}."
            )
        out = {stem: {k: v for k, v in extra.items() if k in have} for stem, have in names.items()}
        for key, values in self.notebooks.items():
            stem = next((p.stem for p in paths if p.stem == key or p.stem[:2] == str(key)), None)
            if stem is None:
                known = ", ".join(p.stem for p in paths)
                raise ConfigError(
                    f"The batch gives parameters to notebook {key!r}, which is not among the "
                    f"notebooks run: {known}."
                )
            out[stem] = {**out[stem], **values}
        return {stem: values for stem, values in out.items() if values}

    @property
    def label(self) -> str:
        """A short name for messages: area or region, year or season, provider."""
        p = self.parameters
        area = "aoi" if p.get("aoi") else p.get("region", "chartres")
        return f"{area} {p.get('season', p.get('year', ''))} {p.get('stac', 'demo')}".strip()


def batch_from(
    parameters: dict | None = None,
    grid: dict | None = None,
    runs: list[dict] | None = None,
    notebooks: dict | None = None,
) -> list[RunSpec]:
    """The runs of a batch: ``runs`` and every combination of ``grid``, over ``parameters``.

    Parameters
    ----------
    parameters : dict, optional
        For every run.
    grid : dict, optional
        Parameter -> list of values; one run per combination.
    runs : list of dict, optional
        One mapping of parameters per run.
    notebooks : dict, optional
        Notebook -> parameters for that notebook only.

    Raises
    ------
    ConfigError
        If a grid value is not a list, or two runs are the same.
    """
    base = dict(parameters or {})
    out = [RunSpec({**base, **run}, dict(notebooks or {})) for run in runs or []]
    if grid:
        for name, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(
                    f"grid: {name} must be a list of values, e.g. {name}: [{values!r}]."
                )
        names = list(grid)
        for combo in itertools.product(*(grid[n] for n in names)):
            out.append(RunSpec({**base, **dict(zip(names, combo))}, dict(notebooks or {})))
    if not out:
        out = [RunSpec(base, dict(notebooks or {}))]
    seen: dict[str, RunSpec] = {}
    for spec in out:
        key = repr(sorted(spec.parameters.items()))
        if key in seen:
            raise ConfigError(f"The batch lists the run {spec.parameters} twice.")
        seen[key] = spec
    return out


def read_batch_file(path: str | Path) -> dict:
    """The sections of a batch file (``parameters``, ``grid``, ``runs``, ``notebooks``).

    A plain mapping of parameters (papermill's ``-f`` file) is ``{"parameters": it}``.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, is not a mapping, or mixes sections with
        loose parameters.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No parameter file {path}: give the path of a YAML file of runs.")
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{path} must hold a mapping (parameter: value, or the sections "
            f"{sorted(_SECTIONS)}), not a {type(spec).__name__}."
        )
    if not set(spec) & _SECTIONS:
        return {"parameters": spec}  # papermill's -f file: one run
    loose = sorted(set(spec) - _SECTIONS)
    if loose:
        raise ConfigError(
            f"{path} mixes sections with loose parameters {loose}: put them under "
            "'parameters:' (for every run) or in a run under 'runs:'."
        )
    if not isinstance(spec.get("runs", []), list):
        raise ConfigError(f"{path}: 'runs' must be a list of mappings of parameters.")
    for name in ("parameters", "grid", "notebooks"):
        if not isinstance(spec.get(name) or {}, dict):
            raise ConfigError(f"{path}: '{name}' must be a mapping.")
    return {key: spec[key] for key in _SECTIONS if spec.get(key)}


def load_batch(path: str | Path) -> list[RunSpec]:
    """The runs of a batch file (see the module docstring and :func:`read_batch_file`)."""
    return batch_from(**read_batch_file(path))


@dataclass
class RunResult:
    """The outcome of one run of a batch (one row of :func:`rerun`'s table)."""

    label: str
    run_dir: str = ""
    status: str = "failed"
    ran: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    failed_notebook: str = ""
    failed_cell: int | None = None
    error: str = ""
    executed: str = ""
    log: str = ""
    seconds: float = 0.0
    report: str = ""


def rerun(
    specs: list[RunSpec],
    notebooks: list[str] | None = None,
    force: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    batch_dir: str | Path | None = None,
    report: Callable[[str], None] | None = print,
) -> pd.DataFrame:
    """Run the notebook sequence for every run of a batch.

    Parameters
    ----------
    specs : list of RunSpec
        The runs (:func:`load_batch`, :func:`batch_from`).
    notebooks : list of str, optional
        Which notebooks (all by default).
    force : bool
        Run every notebook again, even unchanged ones.
    jobs : int
        Runs at the same time (1: one after the other in this process). Above 1, runs
        are tasks on a dask cluster: a local one with ``jobs`` workers, or ``scheduler``.
    scheduler : str, optional
        Address of a dask scheduler to run on (at most ``jobs`` runs at a time).
    batch_dir : path-like, optional
        Where the batch summary goes (default: the first run's ``run_root``).
    report : callable, optional
        Called with progress lines.

    Returns
    -------
    pandas.DataFrame
        One row per run: status, notebooks run and unchanged, the failing notebook and
        cell with the executed copy and log, seconds, the report.

    Raises
    ------
    ConfigError
        Before anything runs, if a run's parameters are wrong (every run is checked).
    StorageError
        Before anything runs, if a run root cannot be written.
    """
    say = report or (lambda line: None)
    paths = resolve_notebooks(notebooks)
    checked = []
    for spec in specs:  # every parameter of every run, before any run starts
        try:
            cfg = spec.config()
            overrides = spec.overrides(paths)
            check_overrides(paths, overrides)
        except ConfigError as err:
            raise ConfigError(f"run {spec.label}: {err}") from None
        checked.append((spec, cfg, overrides))
    dirs = [cfg.run_dir for _, cfg, _ in checked]
    twice = {str(d) for d in dirs if dirs.count(d) > 1}
    if twice:
        raise ConfigError(
            f"Several runs of the batch write the same run folder ({sorted(twice)}): they "
            "differ only in parameters that do not name a run folder; give them another "
            "run_root each."
        )
    batch_dir = Path(batch_dir or checked[0][1].run_root)
    for folder in {batch_dir, *(cfg.run_root for _, cfg, _ in checked)}:
        check_writable(folder)  # a read-only or full run root: said before any run starts
    tasks = [
        (spec.label, spec.parameters, overrides, notebooks, force) for spec, _, overrides in checked
    ]
    t0 = time.perf_counter()
    say(f"cropkit: {len(tasks)} runs, {'all notebooks again' if force else 'resuming'}")
    searches = any(searches_stac(path) for path in paths)
    demo_runs = [cfg for _, cfg, _ in checked] if searches else []
    with _shared_api(demo_runs, local=scheduler is None):
        if jobs <= 1 and scheduler is None:
            results = [_run_one(*task, report=say) for task in tasks]
        else:
            results = _on_dask(tasks, jobs, scheduler, say)
    table = pd.DataFrame([dataclasses.asdict(r) for r in results]).astype({"failed_cell": "Int64"})
    from .report import write_batch_report

    index = write_batch_report(batch_dir, table)
    say(f"cropkit: batch of {len(tasks)} runs in {time.perf_counter() - t0:.0f} s; {index}")
    return table


def _run_one(label, parameters, overrides, notebooks, force, report=None) -> RunResult:
    """Execute one run; never raises (a failure is the result)."""
    say = report or (lambda line: None)
    result = RunResult(label=label)
    t0 = time.perf_counter()
    try:
        cfg = RunSpec(parameters).config()
        result.run_dir = str(cfg.run_dir)
        outcomes, _ = execute_run(
            cfg,
            notebooks,
            overrides=overrides,
            resume=not force,
            report=lambda line: say(f"  {label}: {line}"),
        )
        result.ran = [o.notebook for o in outcomes if o.status == "ran"]
        result.unchanged = [o.notebook for o in outcomes if o.status == "unchanged"]
        failed = next((o for o in outcomes if o.status == "failed"), None)
        if failed is not None:
            err = failed.error
            result.failed_notebook, result.failed_cell = err.notebook, err.cell
            result.error = f"{err.ename}: {err.evalue}"
            result.executed, result.log = str(err.executed), str(err.log)
        else:
            result.status = "ok"
    except CropkitError as err:
        result.error = f"{type(err).__name__}: {err}"
    except Exception as err:  # noqa: BLE001 - one run's bug must not stop the batch
        result.error = f"{type(err).__name__}: {err}"
        result.log = _crash_log(result.run_dir, traceback.format_exc())
    result.seconds = round(time.perf_counter() - t0, 1)
    if result.run_dir and (Path(result.run_dir) / "notebooks").is_dir():
        from .report import write_run_report

        with contextlib.suppress(CropkitError):
            result.report = str(write_run_report(result.run_dir))
    where = (
        f"{result.failed_notebook} cell {result.failed_cell}: " if result.failed_notebook else ""
    )
    say(
        f"cropkit: {label}: {result.status}" + (f" ({where}{result.error})" if result.error else "")
    )
    return result


def _crash_log(run_dir: str, text: str) -> str:
    if not run_dir:
        return ""
    log = Path(run_dir) / "rerun.error.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    return str(log)


def _on_dask(tasks, jobs: int, scheduler: str | None, say) -> list[RunResult]:
    """Run the tasks on a dask cluster, at most ``jobs`` at a time (in the order given).

    A local cluster has ``jobs`` single-threaded workers; on a scheduler of yours, no
    more than ``jobs`` runs are submitted at once, the next when one ends.
    """
    from distributed import as_completed

    from ..core.cluster import dask_client

    client = dask_client(scheduler, n_workers=max(1, jobs), memory_limit="2GiB")
    results: list[RunResult | None] = [None] * len(tasks)
    try:
        queue = list(enumerate(tasks))
        running = as_completed()
        index = {}

        def submit() -> None:
            i, task = queue.pop(0)
            future = client.submit(_run_one, *task, key=f"cropkit-run-{i}", pure=False)
            index[future.key] = i
            running.add(future)

        for _ in range(min(max(1, jobs), len(queue))):
            submit()
        for future in running:
            result = future.result()
            say(f"cropkit: {result.label}: {result.status}")
            results[index[future.key]] = result
            if queue:
                submit()
        return results
    finally:
        client.close()


@contextlib.contextmanager
def _shared_api(configs: list[RunConfig], local: bool) -> Iterator[None]:
    """One local STAC API for every run of the batch that needs one (loaded up front)."""
    from ..server import ENV_URL

    if not local or os.environ.get(ENV_URL):
        yield
        return
    from ..endpoint import shared_api

    with shared_api(configs):
        yield
