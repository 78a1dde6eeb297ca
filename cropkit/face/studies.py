"""``cropkit study -f study.yaml``: a study run from its file, its summary written.

The runs' datasets come from the stages (cached in each run folder; a demo run's API
served on localhost for the whole study), the units run one by one or on a Dask cluster
(:func:`cropkit.experiments.study.run_study`), and the study folder gets ``summary.json``
and the tables as CSV beside the units' results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..core.store import replacing
from ..experiments.study import StudySpec, load_study, run_study, summarise

__all__ = ["study", "write_summary"]


def study(
    path: str | Path,
    folder: str | Path | None = None,
    scheduler: str | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the study of a file (resuming one begun), write its summary, give its tables.

    Parameters
    ----------
    path : path-like
        The study file (YAML; see :mod:`cropkit.experiments.study`).
    folder : path-like, optional
        The study folder (``studies/<name>`` by default).
    scheduler : str, optional
        The address of a Dask scheduler to run the units on (one at a time without).
    report : callable, optional
        Called with a line per step.
    """
    from ..endpoint import open_source, shared_api
    from ..stages.study import study_datasets
    from .reruns import RunSpec

    spec = load_study(path)
    folder = Path(folder or Path("studies") / spec.name)
    say = report or (lambda line: None)
    configs = [RunSpec(dict(run)).config() for run in spec.runs]
    with shared_api(configs):
        data = study_datasets(spec, [open_source(cfg) for cfg in configs])
    say(f"data: {', '.join(f'{k} {v.sizes[next(iter(v.dims))]}' for k, v in data.items())}")
    client = None
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
    try:
        results = run_study(spec, data, folder, client=client, report=say)
    finally:
        if client is not None:
            client.close()
    tables = summarise(spec, results)
    write_summary(spec, tables, folder)
    return tables


def write_summary(spec: StudySpec, tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write ``summary.json`` (scores and paired differences) and each table as CSV."""
    for name, table in tables.items():
        with replacing(folder / f"{name}.csv") as tmp:
            table.to_csv(tmp, index=False)
    summary = {
        "study": spec.name,
        "seeds": spec.seeds,
        "epochs": spec.epochs,
        "scores": json.loads(tables["scores"].to_json(orient="records")),
        "differences": json.loads(tables["differences"].to_json(orient="records")),
    }
    path = folder / "summary.json"
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return path
