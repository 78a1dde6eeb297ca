"""Run reports that open anywhere: executed notebooks as HTML, an index per run and batch.

:func:`write_run_report` exports every executed notebook of a run folder
(``<run>/notebooks/NN_name.ipynb``) to ``<run>/report/NN_name.html`` and, without its
code, ``NN_name.nocode.html``, then writes ``<run>/index.html``: the run's parameters,
headline scores, notebooks (with timings and any failure) and products, with links.
:func:`write_batch_report` writes a batch's ``summary.csv``, ``summary.png`` and
``index.html``.

The pages load nothing from the internet: the template leaves out nbconvert's
require.js, MathJax and mermaid (from CDNs; the notebooks use none of them), and the
plots carry their JavaScript when the notebooks ran with inline resources
(:mod:`cropkit.plot.resources`, the default).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import warnings
from pathlib import Path

import pandas as pd

from ..core.errors import DataError, StorageError
from ..core.locks import RunLock
from ..core.run import read_manifest, summary_table
from ..core.store import replacing

__all__ = ["export_notebook", "write_run_report", "write_batch_report"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .failed { color: #b00020; } .muted { color: #777; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def export_notebook(executed: str | Path, folder: str | Path) -> dict[str, Path]:
    """Export one executed notebook to HTML, with and without its code.

    Parameters
    ----------
    executed : path-like
        The executed notebook (``NN_name.ipynb``).
    folder : path-like
        Where the pages go.

    Returns
    -------
    dict
        ``{"html": NN_name.html, "nocode": NN_name.nocode.html}``.
    """
    import nbformat

    executed, folder = Path(executed), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(executed, as_version=4)
    if any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells):
        # the values the run used are in papermill's cell: the defaults would only mislead
        nb.cells = [c for c in nb.cells if "parameters" not in c.metadata.get("tags", [])]
    out = {}
    for kind, exporter in _exporters().items():
        with warnings.catch_warnings():  # HoloViews' empty "exec" outputs: nothing to show
            warnings.filterwarnings("ignore", "Your element with mimetype", UserWarning)
            body, _ = exporter.from_notebook_node(
                nb, resources={"metadata": {"name": executed.stem}}
            )
        name = f"{executed.stem}.html" if kind == "html" else f"{executed.stem}.nocode.html"
        with replacing(folder / name) as tmp:
            tmp.write_text(_localized(body), encoding="utf-8")
        out[kind] = folder / name
    return out


#: Stylesheets Panel's plots link from its CDN whatever the resources (loading spinner,
#: layout, theme): replaced by the installed files, so a page makes no request.
_PANEL_CSS = re.compile(
    r"https://cdn\.holoviz\.org/panel/(?P<version>[\w.]+)/dist/(?P<path>[\w./@^-]+?\.css)"
    r"(?:\?v=[\w.]+)?"
)


def _localized(page: str) -> str:
    """``page`` with Panel's CDN stylesheets replaced by the installed ones (``data:`` URLs)."""
    import panel

    dist = Path(panel.__file__).resolve().parent / "dist"

    @functools.cache
    def local(version: str, path: str) -> str | None:
        file = dist / path
        if version != panel.__version__ or not file.is_file():
            return None  # another Panel made the notebook: keep the link
        return "data:text/css;base64," + base64.b64encode(file.read_bytes()).decode()

    return _PANEL_CSS.sub(lambda m: local(m["version"], m["path"]) or m[0], page)


@functools.cache
def _exporters() -> dict:
    """HTML exporters (nbconvert) with cropkit's template: with and without the code."""
    from nbconvert import HTMLExporter

    return {
        kind: HTMLExporter(
            template_name="cropkit",
            extra_template_basedirs=[str(_TEMPLATES)],
            exclude_input=hide,
            exclude_input_prompt=hide,
            exclude_output_prompt=hide,
        )
        for kind, hide in (("html", False), ("nocode", True))
    }


def write_run_report(run_dir: str | Path) -> Path:
    """Export a run's executed notebooks and write its ``index.html``.

    Parameters
    ----------
    run_dir : path-like
        The run folder.

    Returns
    -------
    Path
        ``<run>/index.html``.

    Raises
    ------
    DataError
        If the folder holds no executed notebook (run the notebooks first, with
        ``cropkit demo`` or ``cropkit rerun``).
    RunLockedError
        If another process writes the run folder for more than two minutes.
    StorageError
        If not even ``index.html`` fits on the disk (a page that does not fit is left
        out, and the index says so).
    """
    run_dir = Path(run_dir)
    executed = sorted((run_dir / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not executed:
        raise DataError(
            f"{run_dir} has no executed notebooks (in {run_dir / 'notebooks'}), so there is "
            "nothing to report: run them first with `cropkit demo` or `cropkit rerun` "
            "(papermill writes the executed copies there)."
        )
    with RunLock(run_dir, wait=120):  # pages are products: one writer of the folder at a time
        manifest = read_manifest(run_dir)
        index = run_dir / "index.html"
        # the index first (a few kB): on a disk the pages fill, the run's state is still told
        pending = {path.stem: {"missing": _PENDING} for path in executed}
        with replacing(index) as tmp:
            tmp.write_text(_run_page(run_dir, manifest, pending), encoding="utf-8")
        pages = {}
        for path in executed:  # a full disk: the pages that fit, and an index that says so
            try:
                pages[path.stem] = export_notebook(path, run_dir / "report")
            except StorageError as err:
                pages[path.stem] = {"missing": str(err)}
        try:
            with replacing(index) as tmp:
                tmp.write_text(_run_page(run_dir, manifest, pages), encoding="utf-8")
        except StorageError:  # the pages took the room: the first index stays
            pass
    return index


#: What the index says of pages not written yet (it stays if the disk fills meanwhile).
_PENDING = (
    "not written: the disk filled while the pages were exported; free some room and run "
    "`cropkit report` on this folder"
)


def _run_page(run_dir: Path, manifest: dict, pages: dict[str, dict[str, Path]]) -> str:
    esc = html.escape
    notebooks = manifest.get("notebooks", {})
    rows = []
    for stem, page in pages.items():
        run_info = _papermill_info(run_dir / "notebooks" / f"{stem}.ipynb")
        log = run_dir / "notebooks" / f"{stem}.error.log"
        seconds = run_info.get("duration")
        failed = run_info.get("exception") or notebooks.get(stem, {}).get("failed")
        if failed:
            status = "<span class='failed'>failed" + (
                f" (<a href='notebooks/{esc(log.name)}'>log</a>)</span>"
                if log.is_file()
                else "</span>"
            )
        else:
            status = "done" if stem in notebooks else "<span class='muted'>no record</span>"
        rows.append(
            f"<tr><td>{esc(stem)}</td><td>{status}</td>"
            f"<td>{'' if seconds is None else f'{seconds:.1f} s'}</td>"
            + (
                f"<td><a href='report/{esc(page['html'].name)}'>with code</a> · "
                f"<a href='report/{esc(page['nocode'].name)}'>without code</a> · "
                if "missing" not in page
                else f"<td><span class='failed'>pages not written: {esc(page['missing'])}</span> · "
            )
            + f"<a href='notebooks/{esc(stem)}.ipynb'>notebook</a></td></tr>"
        )
    parts = [
        f"<h1>cropkit run {esc(run_dir.name)}</h1>",
        f"<p class='muted'>updated {esc(str(manifest.get('updated', '')))}</p>",
        "<h2>Notebooks</h2><table><tr><th>notebook</th><th>status</th><th>time</th>"
        "<th>pages</th></tr>" + "".join(rows) + "</table>",
    ]
    scores = notebooks.get("04_model_training", {}).get("metrics")
    if scores:
        frame = pd.DataFrame(scores).T
        cols = [
            c
            for c in frame.columns
            if c.startswith("macro_f1") or c in ("overall_accuracy", "kappa")
        ]
        parts.append("<h2>Held-out scores</h2>" + frame[cols].to_html(float_format="{:.3f}".format))
    identity = manifest.get("identity")
    if identity:
        parts.append("<h2>The run</h2>" + _kv_table(identity))
    for stem, entry in notebooks.items():
        if entry.get("metrics") and stem != "04_model_training":
            parts.append(f"<h2>{esc(stem)}</h2>" + _metrics_html(entry["metrics"]))
    products = manifest.get("products", {})
    if products:
        links = "".join(
            f"<tr><td>{esc(name)}</td><td><a href='{esc(str(rel))}'>{esc(str(rel))}</a></td></tr>"
            for name, rel in sorted(products.items())
        )
        parts.append("<h2>Products</h2><table>" + links + "</table>")
    for stem, entry in notebooks.items():
        parts.append(
            f"<details><summary>parameters of {esc(stem)}</summary>"
            + _kv_table(entry.get("parameters", {}))
            + "</details>"
        )
    return _page(f"cropkit · {run_dir.name}", "".join(parts))


def _papermill_info(path: Path) -> dict:
    """What papermill noted in an executed notebook: ``duration``, ``exception``..."""
    return json.loads(path.read_text()).get("metadata", {}).get("papermill", {})


def _kv_table(values: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_short(v))}</td></tr>"
        for k, v in values.items()
    )
    return f"<table>{rows}</table>"


def _metrics_html(metrics: dict) -> str:
    """A notebook's metrics as tables, numbers to three decimals.

    Scalars make one table; a dict of dicts (one entry per model) a table with a row each;
    a list of records (``truth_peaks``) a table of its own under its name.
    """
    scalars = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}
    rows = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    lists = {k: v for k, v in metrics.items() if isinstance(v, list)}
    parts = [_kv_table({k: _number(v) for k, v in scalars.items()})] if scalars else []
    if rows:
        flat = {
            k: v
            for k, v in rows.items()
            if not any(isinstance(x, (dict, list)) for x in v.values())
        }
        if flat:
            parts.append(_frame_html(pd.DataFrame.from_dict(flat, orient="index")))
        for name in set(rows) - set(flat):
            parts.append(f"<h3>{html.escape(str(name))}</h3>" + _metrics_html(rows[name]))
    for name, records in lists.items():
        frame = pd.DataFrame(records) if all(isinstance(r, dict) for r in records) else None
        body = _frame_html(frame, index=False) if frame is not None else _kv_table({name: records})
        parts.append(f"<h3>{html.escape(str(name))}</h3>" + body)
    return "".join(parts)


def _frame_html(frame: pd.DataFrame, index: bool = True) -> str:
    return frame.to_html(index=index, float_format="{:.3f}".format, na_rep="", border=0)


def _number(value):
    return round(value, 3) if isinstance(value, float) else value


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_batch_report(batch_dir: str | Path, runs: pd.DataFrame) -> Path:
    """Write a batch's ``summary.csv``, ``summary.png`` and ``index.html``.

    Parameters
    ----------
    batch_dir : path-like
        Where they go (the runs' ``run_root``).
    runs : pandas.DataFrame
        :func:`cropkit.face.reruns.rerun`'s table: one row per run, with ``run_dir``,
        ``status``, ``failed_notebook``, ``failed_cell``, ``error``, ``report``.

    Returns
    -------
    Path
        ``<batch_dir>/index.html``.
    """
    batch_dir = Path(batch_dir)
    batch_dir.mkdir(parents=True, exist_ok=True)
    dirs = [d for d in runs.get("run_dir", pd.Series(dtype=str)) if d]
    summary = summary_table(dirs)
    with replacing(batch_dir / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    plot = _summary_plot(summary, batch_dir / "summary.png")
    esc = html.escape
    rows = []
    for row in runs.itertuples():
        where = Path(row.run_dir).resolve() if row.run_dir else None
        link = (
            f"<a href='{esc(str(Path(row.report).resolve().relative_to(batch_dir.resolve())))}'>"
            f"{esc(where.name)}</a>"
            if row.report and Path(row.report).resolve().is_relative_to(batch_dir.resolve())
            else esc(row.run_dir or "")
        )
        failure = (
            f"{esc(row.failed_notebook)} cell {row.failed_cell}: " if row.failed_notebook else ""
        ) + esc(row.error or "")
        status = (
            row.status if row.status == "ok" else f"<span class='failed'>{esc(row.status)}</span>"
        )
        rows.append(
            f"<tr><td>{esc(row.label)}</td><td>{link}</td><td>{status}</td>"
            f"<td>{len(row.ran)} ran, {len(row.unchanged)} unchanged</td>"
            f"<td>{row.seconds:.0f} s</td><td>{failure}</td></tr>"
        )
    parts = [
        "<h1>cropkit batch</h1>",
        "<table><tr><th>run</th><th>report</th><th>status</th><th>notebooks</th>"
        "<th>time</th><th>failure</th></tr>" + "".join(rows) + "</table>",
    ]
    if plot is not None:
        parts.append(f"<h2>Scores across runs</h2><img src='{plot.name}' style='max-width:100%'>")
    if not summary.empty:
        parts.append(
            "<h2>Summary</h2>"
            + summary.to_html(index=False, float_format="{:.3f}".format, na_rep="")
            + "<p class='muted'>also in <a href='summary.csv'>summary.csv</a></p>"
        )
    index = batch_dir / "index.html"
    with replacing(index) as tmp:
        tmp.write_text(_page("cropkit batch", "".join(parts)), encoding="utf-8")
    return index


def _summary_plot(summary: pd.DataFrame, path: Path) -> Path | None:
    """Macro F1 of every tier per run and model, as grouped bars (a PNG)."""
    cols = [f"macro_f1_tier{t}" for t in (1, 2, 3, 4)]
    if summary.empty or summary[cols].isna().all().all():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = summary.dropna(subset=cols, how="all").copy()
    frame.index = frame["run"] + " · " + frame["model"].fillna("")
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(frame) + 2), 4))
    frame[cols].rename(columns=lambda c: c.replace("macro_f1_", "")).plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("macro F1 (held-out zone)")
    ax.set_ylim(0, 1)
    ax.set_xlabel("")
    ax.legend(title="tier", ncols=4, loc="upper right")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
