"""``cropkit study -f study.yaml``: a study run from its file, its summary written.

The runs' datasets come from the stages (cached in each run folder; a demo run's API
served on localhost for the whole study), the units run one by one or on a Dask cluster
(:func:`cropkit.experiments.study.run_study`), and the study folder gets ``summary.json``
and the tables as CSV beside the units' results.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..core.store import replacing
from ..experiments.study import StudySpec, load_study, run_study
from ..experiments.verdicts import summarise, time_capped

__all__ = ["study", "write_summary", "study_report"]


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
        sources = [open_source(cfg) for cfg in configs]
        data = study_datasets(spec, sources, store=folder / "pooled")  # streamed if too large
    sizes = (
        f"{k} {v.sizes[next(iter(v.dims))]}" + (" (streamed from its store)" if v.chunks else "")
        for k, v in data.items()
    )
    say(f"data: {', '.join(sizes)}")
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
    """Write ``summary.json``, ``report.html`` (renders offline) and each table as CSV."""
    for name, table in tables.items():
        with replacing(folder / f"{name}.csv") as tmp:
            table.to_csv(tmp, index=name == "classes")  # classes: one row per class
    summary = {
        "study": spec.name,
        "seeds": spec.seeds,
        "epochs": spec.epochs,
        "scores": json.loads(tables["scores"].to_json(orient="records")),
        "differences": json.loads(tables["differences"].to_json(orient="records")),
        "crop_change": json.loads(tables["crop_change"].to_json(orient="records")),
        "decoding": json.loads(tables["decoding"].to_json(orient="records")),
        "time_capped": time_capped(tables),  # units the time cap stopped early
    }
    path = folder / "summary.json"
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    with replacing(folder / "report.html") as tmp:
        tmp.write_text(study_report(spec, tables))
    return path


def study_report(spec: StudySpec, tables: dict[str, pd.DataFrame]) -> str:
    """One HTML page: the design, the tier-4 scores (a figure inlined), the verdicts."""
    scores = tables["scores"]
    figure = _png(_score_figure(spec, scores[scores["tier"] == "tier4"]))
    runs = ", ".join(
        str(r.get("region") or r.get("aoi") or "chartres") + f" {r.get('year', '')}".rstrip()
        for r in spec.runs
    )
    parts = [
        f"<h1>Study {html.escape(spec.name)}</h1>",
        f"<p>{len(spec.runs)} runs ({html.escape(runs)}); split {spec.split['design']}; "
        f"{spec.seeds} seeds; {spec.epochs} epochs per deep model. Intervals are 95 % "
        "Student-t intervals over seeds; a difference is <i>reproduced</i> when its paired "
        "interval lies above 0, <i>contradicted</i> below, else <i>inconclusive</i>.</p>",
        "<h2>Tier-4 macro F1</h2>",
        f'<img alt="tier-4 macro F1 per variant and model" src="data:image/png;base64,{figure}">',
        "<h2>Paired differences</h2>",
        tables["differences"].round(4).to_html(index=False),
        "<h2>Scores per tier</h2>",
        scores.round(4).to_html(index=False),
    ]
    if len(tables["regions"]):
        parts += ["<h2>Tier-4 macro F1 per region</h2>", tables["regions"].round(4).to_html()]
    if len(tables.get("crop_change", [])):
        parts += [
            "<h2>Parcels whose crop changed from the year before, and stable ones</h2>",
            tables["crop_change"].round(4).to_html(index=False),
        ]
    if len(tables.get("decoding", [])):
        parts += [
            "<h2>Hierarchical heads: decoded jointly against each head's own argmax</h2>",
            tables["decoding"].round(4).to_html(index=False),
        ]
    if len(tables.get("classes", [])):
        parts += ["<h2>Tier-4 F1 per class</h2>", tables["classes"].round(3).to_html()]
    capped = time_capped(tables)
    if capped:
        parts.append(f"<p>The time cap stopped {len(capped)} units early: {', '.join(capped)}.</p>")
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    style += "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    body = "\n".join(parts)
    return f"<!doctype html><meta charset='utf-8'><style>{style}</style>{body}"


def _score_figure(spec: StudySpec, scores: pd.DataFrame):
    """Tier-4 macro F1 with its interval, per model and input set.

    Against the cut date where variants cut the season (how early is it good enough?),
    else per variant.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    windowed = any("until" in v for v in spec.variants.values())
    for (model, inputs), part in scores.groupby(
        [
            scores["model"],
            scores["variant"].map(lambda v: "+".join(spec.variants[v].get("inputs", ["s2"]))),
        ]
    ):
        if windowed:
            ends = part["variant"].map(lambda v: spec.variants[v].get("until", "9999-12-31"))
            part = part.assign(end=ends).sort_values("end")
            x = [e if e != "9999-12-31" else "full season" for e in part["end"]]
        else:
            x = list(part["variant"])
        err = (part["mean"] - part["low"]).fillna(0).to_numpy()
        line = "-" if windowed else "none"  # variants are categories: no line between them
        ax.errorbar(
            x, part["mean"], yerr=err, marker="o", capsize=3, ls=line, label=f"{model} ({inputs})"
        )
    ax.set_ylabel("tier-4 macro F1")
    ax.set_xlabel("season cut at" if windowed else "variant")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
