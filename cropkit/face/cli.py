"""The ``cropkit`` command: demo, rerun, study, report, build-demo, serve, train.

Examples
--------
::

    cropkit demo --region chartres --year 2023      # run every notebook on the demo
    cropkit rerun -f runs.yaml --jobs 2             # a batch of runs, resumable
    cropkit rerun --region chartres vitre --year 2022 2023 -p max_cloud 60
    cropkit report runs/chartres-2023-demo-ci       # HTML pages of a run
    cropkit build-demo --region vitre --profile full
    cropkit serve --region chartres                 # a local STAC API until Ctrl-C
    cropkit train runs/chartres-2023 --model ltae --set epochs=20 --devices 2
    torchrun --nproc-per-node 4 -m cropkit train runs/chartres-2023 --model utae
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

from ..core.errors import CropkitError, NotebookFailedError

__all__ = ["main"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default="chartres", help="demo region id (default: chartres)")
    parser.add_argument("--year", type=int, default=2023, help="year (default: 2023)")
    parser.add_argument("--profile", default="ci", help="study-area size: ci, full, large")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed")


def _demo(args: argparse.Namespace) -> None:
    from .notebooks import resolve_notebooks, run_notebooks
    from .reruns import RunSpec

    flags = {
        "region": args.region,
        "year": args.year,
        "season": args.season,
        "aoi": args.aoi,
        "zone_km": args.zone_km,
        "stac": args.stac,
        "profile": args.profile,
        "run_root": args.run_root,
        "seed": args.seed,
    }
    spec = RunSpec({**flags, **dict(args.parameter or [])})  # -p NAME VALUE, as in rerun
    cfg = spec.config()
    overrides = spec.overrides(resolve_notebooks(args.notebooks or None))
    print(
        f"cropkit: running the notebooks for {cfg.area.name}, "
        f"{cfg.growing_season.describe()} ({cfg.stac}, profile {cfg.profile})"
    )
    print(f"cropkit: executed notebooks go to {(cfg.run_dir / 'notebooks').resolve()}")
    os.environ["CROPKIT_RESOURCES"] = args.resources
    try:
        timings = run_notebooks(
            cfg,
            notebooks=args.notebooks or None,
            log_output=args.verbose,
            overrides=overrides,
            report=lambda line: print(f"cropkit: {line}", flush=True),
            progress=sys.stderr.isatty(),  # a bar of the cells done, in a terminal
        )
    except NotebookFailedError:  # a failed run gets its pages too: they show where
        _report_quietly(cfg.run_dir)
        raise  # (a run refused, another holding the folder, writes nothing there)
    index = _report_quietly(cfg.run_dir)
    for name, seconds in timings.items():
        print(f"  {name:<28} {seconds:7.1f} s")
    print(f"cropkit: run folder: {cfg.run_dir.resolve()}")
    if index:
        print(f"cropkit: report: {index.resolve()}")


def _report_quietly(run_dir):
    from .report import write_run_report

    try:
        return write_run_report(run_dir)
    except CropkitError:
        return None


def _parameter(values: list[str]) -> tuple[str, object]:
    import yaml

    name, value = values
    return name, yaml.safe_load(value)


def _rerun(args: argparse.Namespace) -> int:
    from .reruns import batch_from, read_batch_file, rerun

    sections = read_batch_file(args.file) if args.file else {}
    parameters = {**sections.get("parameters", {}), **dict(args.parameter or [])}
    grid = dict(sections.get("grid", {}))
    for name in ("region", "year", "season", "aoi", "stac"):
        values = getattr(args, name)
        if values:
            grid[name] = values
    if args.run_root:
        parameters["run_root"] = args.run_root
    specs = batch_from(parameters, grid, sections.get("runs"), sections.get("notebooks"))
    os.environ["CROPKIT_RESOURCES"] = args.resources
    table = rerun(
        specs,
        notebooks=args.notebooks or None,
        force=args.force,
        jobs=args.jobs,
        scheduler=args.scheduler,
    )
    failed = table[table["status"] != "ok"]
    for row in failed.itertuples():
        where = f"{row.failed_notebook}, cell {row.failed_cell}" if row.failed_notebook else ""
        print(f"cropkit: {row.label} failed {where}: {row.error}", file=sys.stderr)
        if row.executed:
            print(f"  executed notebook: {row.executed}", file=sys.stderr)
        if row.log:
            print(f"  full traceback:    {row.log}", file=sys.stderr)
    return 1 if len(failed) else 0


def _report(args: argparse.Namespace) -> None:
    from .report import write_run_report

    for folder in args.runs:
        print(f"cropkit: report: {write_run_report(folder).resolve()}")


def _build(args: argparse.Namespace) -> None:
    from ..demo import build_demo

    t0 = time.perf_counter()
    overrides = {"zone_px": args.zone_px} if args.zone_px else {}
    if args.zones:
        overrides["zones"] = tuple(args.zones)
    demo = build_demo(
        args.region,
        args.year,
        args.profile,
        seed=args.seed,
        force=args.force,
        progress=True,
        **overrides,
    )
    info = demo.info()
    print(f"cropkit: demo in {demo.root} ({time.perf_counter() - t0:.1f} s)")
    print(
        json.dumps(
            {"items": info["items"], "parcels": info["parcels"], "build_seconds": info["seconds"]}
        )
    )


def _serve(args: argparse.Namespace) -> None:
    from ..demo import build_demo
    from ..server import LocalStacServer

    demo = build_demo(args.region, args.year, args.profile, seed=args.seed)
    with LocalStacServer(port=args.port) as api:
        counts = api.add_catalog(demo)
        print(f"cropkit: STAC API on {api.url} ({counts}); Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def _setting(text: str) -> tuple[str, object]:
    import yaml

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)


def _train(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ..core.errors import DataError
    from ..core.run import RunFolder
    from ..experiments.classifiers import get_model

    folder = Path(args.run)
    if not folder.is_dir():
        raise DataError(
            f"{folder} does not exist: give the path of a run folder (runs/<area>-<season>-"
            "<provider>[-<profile>], where notebook 04 saved its datasets)."
        )
    if not (folder / "datasets").exists():
        raise DataError(
            f"{folder} has no saved datasets: run notebook 04_model_training for it first "
            "(or give the path of a run folder)."
        )
    settings = dict(args.set or [])
    if args.devices:
        settings["devices"] = args.devices
    model = get_model(args.model, inputs=tuple(args.inputs), **settings)  # checks early
    run = RunFolder(folder)
    # rank 0 (or a lone process) holds the folder while it trains: a second writer is
    # told now, not after the training; DDP processes it starts write under the lock
    holds = os.environ.get("RANK", "0") == "0"
    with run.lock(wait=0) if holds else contextlib.nullcontext():
        _train_in(args, run, model, settings)


def _train_in(args: argparse.Namespace, run, model, settings: dict) -> None:
    from ..datasets import open_dataset
    from ..experiments.fit import fit_and_score
    from ..stages.training import save_result

    name = "patches" if model.kind == "patch" else "pixels"
    ds = open_dataset(run, name).load()
    result = fit_and_score(
        model,
        ds,
        checkpoint_dir=run.path / "models" / args.model / "checkpoints",
        progress=not args.quiet,
    )
    if not result.model.is_global_zero:
        return  # other DDP ranks: rank 0 writes
    products = save_result(result, run)
    run.record(
        f"train_{args.model}",
        {"model": args.model, "inputs": list(args.inputs), **settings},
        products=products,
        metrics=result.summary().round(4).to_dict(orient="index"),
    )
    summary = {
        "model": args.model,
        "info": result.info,
        "macro_f1": result.summary()["macro_f1"].round(4).to_dict(),
    }
    print(json.dumps(summary, default=str))


def _study(args: argparse.Namespace) -> None:
    from .studies import study

    tables = study(args.file, args.folder, args.scheduler, lambda line: print(f"cropkit: {line}"))
    for row in tables["differences"].to_dict(orient="records"):
        on = row.get("model") if isinstance(row.get("model"), str) else row.get("variant")
        subset = "" if row.get("parcels", "all") == "all" else f" ({row['parcels']} parcels)"
        print(
            f"cropkit: {on} {row['tier']}{subset}: {row['first']} - {row['second']} = "
            f"{row['mean']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] {row['verdict']}"
        )
    for row in tables["decoding"].to_dict(orient="records"):
        print(
            f"cropkit: {row['variant']} {row['model']} {row['tier']}: joint {row['joint']:.3f}, "
            f"independent {row['independent']:.3f}, difference {row['difference']:+.3f} "
            f"[{row['low']:+.3f}, {row['high']:+.3f}] {row['verdict']}; independent heads "
            f"nest on {row['independent_agreement']:.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cropkit`` command."""
    parser = argparse.ArgumentParser(prog="cropkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run the notebooks on the embedded demo with papermill")
    _common(p)
    p.add_argument(
        "--stac",
        default="demo",
        help="demo (demo:planetary-computer, demo:earth-search-l2a: the demo in that "
        "provider's layout), earth-search, earth-search-l2a, planetary-computer or a URL",
    )
    p.add_argument("--season", default="calendar", help="calendar, winter, summer or START/END")
    p.add_argument("--aoi", default="", help="area of interest: W,S,E,N (degrees) or a file")
    p.add_argument("--zone-km", type=float, default=5.12, help="hold-out zone side of an aoi")
    p.add_argument("--run-root", default="runs", help="folder of the run folders")
    p.add_argument("--notebooks", nargs="*", help="run only these notebooks")
    _parameters(p)
    p.add_argument("-v", "--verbose", action="store_true", help="stream notebook output")
    _resources(p)
    p.set_defaults(func=_demo)
    p = sub.add_parser(
        "rerun",
        help="run the notebooks for a batch of runs (resumable)",
        description="Run the notebook sequence for every run of a batch, each in its own "
        "run folder; notebooks whose parameters and inputs are unchanged are not run again.",
    )
    p.add_argument("-f", "--file", help="YAML file of runs (or of one run's parameters)")
    _parameters(p, "every run")
    p.add_argument("--region", nargs="+", help="demo regions (one run each)")
    p.add_argument("--year", nargs="+", type=int, help="years (one run each)")
    p.add_argument("--season", nargs="+", help="seasons (one run each)")
    p.add_argument("--aoi", nargs="+", help="areas of interest (one run each)")
    p.add_argument("--stac", nargs="+", help="providers (one run each)")
    p.add_argument("--run-root", help="folder of the run folders and the batch summary")
    p.add_argument("--notebooks", nargs="*", help="run only these notebooks")
    p.add_argument("--force", action="store_true", help="run every notebook again")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (on a dask cluster)")
    p.add_argument("--scheduler", help="address of a dask scheduler to run the runs on")
    _resources(p)
    p.set_defaults(func=_rerun)
    p = sub.add_parser(
        "study",
        help="run a study (models x variants x seeds over pooled runs; resumable)",
        description="Run the units of a study file not done yet, then write its summary: "
        "scores over seeds and paired differences with their verdicts.",
    )
    p.add_argument("-f", "--file", required=True, help="the study file (YAML)")
    p.add_argument("--folder", help="the study folder (default studies/<name>)")
    p.add_argument("--scheduler", help="address of a dask scheduler to run the units on")
    p.set_defaults(func=_study)
    p = sub.add_parser("report", help="write the HTML pages and index.html of run folders")
    p.add_argument("runs", nargs="+", help="run folders")
    p.set_defaults(func=_report)
    p = sub.add_parser("build-demo", help="simulate a demo region into the cache")
    _common(p)
    p.add_argument("--force", action="store_true", help="rebuild even if cached")
    p.add_argument(
        "--zone-px", type=int, help="side of a zone in 10 m pixels (overrides the profile)"
    )
    p.add_argument(
        "--zones", type=int, nargs=2, metavar=("NX", "NY"), help="zones west-east and north-south"
    )
    p.set_defaults(func=_build)
    p = sub.add_parser("serve", help="serve a demo region with a local STAC API")
    _common(p)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=_serve)
    p = sub.add_parser("train", help="train a model on the datasets saved in a run folder")
    p.add_argument("run", help="the run folder (notebook 04 saved its datasets there)")
    p.add_argument("--model", required=True, help="a registered model (ck.models.model_names())")
    p.add_argument("--inputs", nargs="+", default=["s2"], help="streams: s2 s1 enmap")
    p.add_argument(
        "--set",
        type=_setting,
        action="append",
        metavar="NAME=VALUE",
        help="override a model or trainer setting (repeatable), e.g. --set epochs=20",
    )
    p.add_argument("--devices", type=int, help="GPUs or CPU processes (DDP when > 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)
    args = parser.parse_args(argv)
    if getattr(args, "parameter", None):
        args.parameter = [_parameter(v) for v in args.parameter]
    try:
        code = args.func(args)
    except NotebookFailedError as err:
        print(f"cropkit: {err.notebook} failed: {err}", file=sys.stderr)
        return 2
    except CropkitError as err:
        print(f"cropkit: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system refused (full, read-only, ...): say what to do
        from ..core.storage import OS_ERRNOS, storage_error

        if err.errno not in OS_ERRNOS:
            raise
        print(f"cropkit: error: StorageError: {storage_error(err)}", file=sys.stderr)
        return 2
    return code or 0


def _parameters(parser: argparse.ArgumentParser, what: str = "the run") -> None:
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        type=str,
        help=f"a notebook parameter for {what} (repeatable), as papermill's -p: "
        "-p models '[xgboost, tempcnn]' -p parcels_path rpg.gpkg",
    )


def _resources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resources",
        choices=("inline", "cdn"),
        default="inline",
        help="plots' JavaScript: inline (renders offline, default) or from CDNs (smaller)",
    )
