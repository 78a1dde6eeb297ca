"""Studies: the source works' designs, rerun as resumable units over seeds and variants.

A study is a file (YAML; examples in ``data/studies/``) and a :class:`StudySpec`::

    name: radar-under-cloud
    data:
      runs: [{region: chartres, year: 2023, profile: ci}, {region: vitre, year: 2023}]
      test_zones: [z2]          # each run's held-out zones (or {run label: [zones]})
    split: {design: zone_holdout}       # or {design: region_holdout, test_regions: [vitre]}
                                        # or {design: temporal_transfer, test_years: [2024]}
    models: {ltae: {d_model: 64}, xgboost: {}}
    variants:                           # inputs, a temporal window (until), ...
      s2: {inputs: [s2]}
      s2+s1: {inputs: [s2, s1]}
    compare: [[s2+s1, s2]]              # paired differences: first minus second
    seeds: 3
    budget: {epochs: 10, max_minutes: 0}   # epochs decide; a time cap is reported if it bites

The work is cut into units (variant x model x seed). :func:`run_study` runs each unit on
the pooled data (:mod:`cropkit.experiments.pooling`) and keeps its result in the study
folder (``units/<variant>__<model>__seed<k>.json``, written atomically), so a killed
study resumes and a finished one is not recomputed; units run one after another or on a
Dask cluster. :func:`cropkit.experiments.verdicts.summarise` gives the mean and 95 %
interval over seeds and the paired differences, with their verdicts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.errors import ConfigError, DataError
from ..core.store import replacing
from ..models import check_model_names, is_network, model_inputs, model_kind
from .robustness import CLOUD_SCENARIOS, occlude_periods

__all__ = [
    "StudySpec",
    "Unit",
    "load_study",
    "temporal_window",
    "units",
    "run_unit",
    "unit_recipe",
    "run_study",
    "check_data",
]

_DESIGNS = ("zone_holdout", "region_holdout", "temporal_transfer")
_VARIANT_KEYS = ("inputs", "until", "clouds")


@dataclass(frozen=True)
class StudySpec:
    """A study: its data, split design, models, variants, seeds and budget.

    Attributes
    ----------
    name : str
        The study's name (its folder's, by default).
    runs : list of dict
        Runs as ``cropkit rerun`` takes them (``region``, ``year``, ``season``, ``aoi``,
        ``profile``, ``stac``, ...).
    test_zones : list or dict
        The zones each run holds out (one list for all, or run label -> list).
    split : dict
        ``{"design": "zone_holdout"}``, ``{"design": "region_holdout",
        "test_regions": [...]}`` (run labels: area names, or run folder names where
        areas repeat) or ``{"design": "temporal_transfer", "test_years": [...]}``
        (train on the runs of the other years, test on the runs of these: a model of
        last season applied to this one).
    models : dict
        Model name -> its settings (overrides of its config).
    variants : dict
        Variant name -> ``{"inputs": [...], "until": "YYYY-MM-DD", "clouds": ...}``
        (``until``: the season cut at that date, for early-season mapping; ``clouds``:
        a scenario of :data:`cropkit.experiments.robustness.CLOUD_SCENARIOS` or a list of
        period indices hidden by cloud in every region, train and test alike).
    compare : list of [str, str]
        Pairs whose paired difference (first minus second, seed by seed) is reported:
        two variants (for every model) or two models (for every variant).
    seeds : int
        Seeds per unit (3 by default).
    epochs : int
        The budget of every deep model, in epochs (results do not depend on how busy
        the machine is).
    max_minutes : float
        An optional time cap per deep model (0: none); reported when it bites.
    period : str
        The compositing period of every run.
    """

    name: str
    runs: list[dict]
    models: dict[str, dict]
    variants: dict[str, dict]
    test_zones: Any = field(default_factory=lambda: ["z2"])
    split: dict = field(default_factory=lambda: {"design": "zone_holdout"})
    compare: list[list[str]] = field(default_factory=list)
    seeds: int = 3
    epochs: int = 10
    max_minutes: float = 0.0
    period: str = "month"

    def __post_init__(self) -> None:
        _check_spec(self)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> StudySpec:
        """A study from its file's content (see the module docstring)."""
        known = {"name", "data", "split", "models", "variants", "compare", "seeds", "budget"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ConfigError(
                f"A study has no section {unknown}; its sections are {sorted(known)}."
            )
        data, budget = dict(spec.get("data") or {}), dict(spec.get("budget") or {})
        missing = [k for k in ("name", "models", "variants") if not spec.get(k)]
        if missing or not data.get("runs"):
            raise ConfigError(
                f"A study needs name, data.runs, models and variants; it lacks "
                f"{missing + ([] if data.get('runs') else ['data.runs'])}."
            )
        return cls(
            name=str(spec["name"]),
            runs=[dict(r) for r in data["runs"]],
            test_zones=data.get("test_zones", ["z2"]),
            period=str(data.get("period", "month")),
            split=dict(spec.get("split") or {"design": "zone_holdout"}),
            models={str(k): dict(v or {}) for k, v in spec["models"].items()},
            variants={str(k): dict(v or {}) for k, v in spec["variants"].items()},
            compare=[list(pair) for pair in spec.get("compare", [])],
            seeds=spec.get("seeds", 3),
            epochs=budget.get("epochs", 10),
            max_minutes=budget.get("max_minutes", 0.0),
        )

    def identity(self) -> dict:
        """What a study folder's results depend on (a folder of another study is refused)."""
        return asdict(self)


def _check_spec(spec: StudySpec) -> None:
    if isinstance(spec.seeds, bool) or not isinstance(spec.seeds, int) or spec.seeds < 1:
        raise ConfigError(f"seeds must be a whole number of 1 or more, not {spec.seeds!r}.")
    if isinstance(spec.epochs, bool) or not isinstance(spec.epochs, int) or spec.epochs < 1:
        raise ConfigError(
            f"budget.epochs must be a whole number of 1 or more, not {spec.epochs!r}."
        )
    if not isinstance(spec.max_minutes, (int, float)) or spec.max_minutes < 0:
        raise ConfigError(f"budget.max_minutes must be 0 (none) or more, not {spec.max_minutes!r}.")
    check_model_names(list(spec.models))
    design = spec.split.get("design")
    if design not in _DESIGNS:
        raise ConfigError(f"split.design must be one of {list(_DESIGNS)}, not {design!r}.")
    if design == "region_holdout" and not spec.split.get("test_regions"):
        raise ConfigError("A region_holdout split names its test_regions, e.g. [vitre].")
    if design == "temporal_transfer":
        years = spec.split.get("test_years")
        if not (isinstance(years, list) and years and all(isinstance(y, int) for y in years)):
            raise ConfigError(
                "A temporal_transfer split names the years it tests on, e.g. test_years: "
                f"[2024] (it trains on the runs of the other years), not {years!r}."
            )
    for name, variant in spec.variants.items():
        unknown = sorted(set(variant) - set(_VARIANT_KEYS))
        if unknown:
            raise ConfigError(
                f"Variant {name!r} has no setting {unknown}; a variant sets {list(_VARIANT_KEYS)}."
            )
        inputs = variant.get("inputs", ["s2"])
        if not isinstance(inputs, list) or "s2" not in inputs:
            raise ConfigError(f"Variant {name!r}: inputs must be a list with 's2', not {inputs!r}.")
        if "until" in variant:
            try:
                dt.date.fromisoformat(str(variant["until"]))
            except ValueError:
                raise ConfigError(
                    f"Variant {name!r}: until must be a date YYYY-MM-DD, not {variant['until']!r}."
                ) from None
        clouds = variant.get("clouds")
        named = isinstance(clouds, str) and clouds in CLOUD_SCENARIOS
        listed = isinstance(clouds, list) and all(isinstance(i, int) for i in clouds)
        if clouds is not None and not (named or listed):
            raise ConfigError(
                f"Variant {name!r}: clouds must be one of {list(CLOUD_SCENARIOS)} or a list of "
                f"period indices, not {clouds!r}."
            )
    both = sorted(set(spec.variants) & set(spec.models))
    if both:
        raise ConfigError(f"{both} name both a variant and a model: rename the variant.")
    for pair in spec.compare:
        names = set(pair) if isinstance(pair, list) else set()
        if (
            len(pair) != 2
            or pair[0] == pair[1]
            or not (names <= set(spec.variants) or names <= set(spec.models))
        ):
            raise ConfigError(
                f"compare lists pairs of two different variants of {sorted(spec.variants)} "
                f"or two models of {sorted(spec.models)}, not {pair!r}."
            )


def load_study(path: str | Path) -> StudySpec:
    """Read a study file (YAML)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path} does not exist: give a study file (see data/studies/).")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{path} must hold a mapping of study sections, not {type(spec).__name__}."
        )
    return StudySpec.from_dict(spec)


def temporal_window(ds: xr.Dataset, until: str | None) -> xr.Dataset:
    """The dataset with its series cut after ``until`` (early-season mapping).

    Periods that start on or before ``until`` are kept, for every series (Sentinel-2's
    ``time`` and Sentinel-1's own dates).

    Raises
    ------
    DataError
        If ``until`` falls before the first period or after the last one's start.
    """
    if until is None:
        return ds
    cut = np.datetime64(str(until), "D")
    times = ds["time"].values.astype("datetime64[D]")
    if cut < times[0] or cut > times[-1] + np.timedelta64(31, "D"):
        raise DataError(
            f"The window until {until} lies outside the season's periods ({times[0]} to "
            f"{times[-1]}): choose a date within them."
        )
    out = ds.isel(time=np.flatnonzero(times <= cut))
    if "time_s1" in ds.dims:
        s1_times = ds["time_s1"].values.astype("datetime64[D]")
        out = out.isel(time_s1=np.flatnonzero(s1_times <= cut))
    return out


@dataclass(frozen=True)
class Unit:
    """One piece of a study: a model trained and scored on one variant with one seed."""

    variant: str
    model: str
    seed: int

    @property
    def key(self) -> str:
        """The unit's file name in the study folder."""
        return f"{self.variant}__{self.model}__seed{self.seed}"


def units(spec: StudySpec) -> list[Unit]:
    """Every unit of the study: variant x model x seed."""
    return [
        Unit(variant, model, seed)
        for variant in spec.variants
        for model in spec.models
        for seed in range(spec.seeds)
    ]


def unit_recipe(spec: StudySpec, unit: Unit) -> tuple:
    """What a unit trains on: model, seed, the inputs its model reads, window, clouds.

    Two units with one recipe train the same model on the same data (a model that
    cannot read a variant's extra stream, say ``attention3dcnn`` in an ``s2+enmap``
    variant, reads S2 alone): :func:`run_study` trains it once.
    """
    variant = spec.variants[unit.variant]
    inputs = tuple(s for s in variant.get("inputs", ["s2"]) if s in model_inputs(unit.model))
    clouds = variant.get("clouds")
    return (
        unit.model,
        unit.seed,
        inputs,
        variant.get("until"),
        tuple(clouds) if isinstance(clouds, list) else clouds,
    )


def run_unit(spec: StudySpec, unit: Unit, data: Mapping[str, xr.Dataset]) -> dict:
    """Train and score one unit on the pooled data; its result, JSON-ready.

    Parameters
    ----------
    spec : StudySpec
        The study.
    unit : Unit
        Which variant, model and seed.
    data : mapping
        ``{"pixel": pooled pixels, "patch": pooled patches}`` with the study's split.

    Returns
    -------
    dict
        ``unit``, ``tiers`` (macro F1, OA per tier; a hierarchical model's answers
        decoded jointly), ``regions`` (tier-4 macro F1 per region), ``crop_change``
        (tier-4 macro F1 and pixels on parcels whose crop ``changed`` from the year
        before and on ``stable`` ones, where the data knows the previous crops),
        ``classes`` (tier-4 F1 per class), ``info`` (seconds, epochs, what stopped
        training); for hierarchical models ``independent``: each
        tier's macro F1 from its own head's argmax and the share of pixels whose
        independent answers nest (``tier_agreement``).
    """
    from ..compute.metrics import classification_report
    from .fit import budget_settings, fit_and_score

    variant = spec.variants[unit.variant]
    wanted = list(variant.get("inputs", ["s2"]))
    inputs = [s for s in wanted if s in model_inputs(unit.model)]
    kind = model_kind(unit.model)
    if kind not in data:
        raise DataError(f"{unit.model} is a {kind} model: the study has no {kind} dataset.")
    ds = temporal_window(data[kind], variant.get("until"))
    clouds = variant.get("clouds")
    if clouds is not None:  # a cloudy season everywhere: those periods gap-filled
        ds = occlude_periods(ds, CLOUD_SCENARIOS[clouds] if isinstance(clouds, str) else clouds)
    absent = [s for s in inputs if s not in ds]
    if absent:
        raise DataError(
            f"Variant {unit.variant!r} reads {absent}, which the study's runs lack: drop it from "
            "its inputs, or use runs whose provider offers it."
        )
    settings = {**spec.models[unit.model], "seed": unit.seed}
    if is_network(unit.model):
        settings.update(budget_settings(unit.model, spec.epochs, spec.max_minutes or None))
        settings["progress"] = False
    started = time.perf_counter()
    result = fit_and_score(unit.model, ds, tuple(inputs), **settings)
    frame = result.predictions
    tiers = {
        tier: {k: float(v) for k, v in report.headline().items()}
        for tier, report in result.reports.items()
    }
    regions = {}
    if "region" in frame:
        for region, part in frame.groupby("region"):
            report = classification_report(part["true_tier4"], part["pred_tier4"])
            regions[str(region)] = float(report.macro_f1)
    crop_change = {}
    if "changed" in frame:  # parcels whose crop changed from the year before, and the others
        for name, flag in (("changed", 1), ("stable", 0)):
            part = frame[frame["changed"] == flag]
            if len(part):
                report = classification_report(part["true_tier4"], part["pred_tier4"])
                crop_change[name] = {"macro_f1": float(report.macro_f1), "pixels": len(part)}
    per_class = result.reports["tier4"].per_class
    classes = per_class.loc[per_class["support"] > 0, "f1"].astype(float).to_dict()
    info = {k: v for k, v in result.info.items() if isinstance(v, (int, float, str, bool))}
    info["seconds"] = round(time.perf_counter() - started, 1)
    out = {
        "unit": asdict(unit),
        "inputs": inputs,
        "tiers": tiers,
        "regions": regions,
        "crop_change": crop_change,
        "classes": classes,
        "info": info,
    }
    if "independent_macro_f1" in result.info:  # hierarchical heads: each head's own argmax
        out["independent"] = {
            "macro_f1": result.info["independent_macro_f1"],
            "tier_agreement": result.info["tier_agreement"],
        }
    return out


def run_study(
    spec: StudySpec,
    data: Mapping[str, xr.Dataset],
    folder: str | Path,
    client=None,
    report: Callable[[str], None] | None = None,
) -> list[dict]:
    """Run every unit not done yet; the results of all, in :func:`units` order.

    Parameters
    ----------
    spec : StudySpec
        The study.
    data : mapping
        ``{"pixel": ..., "patch": ...}``: the pooled datasets with the study's split.
    folder : path-like
        The study folder: ``study.json`` (what it holds results of) and ``units/``.
    client : distributed.Client, optional
        Run the missing units on this Dask cluster; one after another without.
    report : callable, optional
        Called with a line per unit (done, cached).

    Raises
    ------
    ConfigError
        If ``folder`` holds the results of another study (naming what differs).
    """
    folder = Path(folder)
    check_data(spec, data)
    _claim_folder(spec, folder)
    say = report or (lambda line: None)
    todo, results, copies, first = [], {}, {}, {}
    for unit in units(spec):
        path = folder / "units" / f"{unit.key}.json"
        twin = first.setdefault(unit_recipe(spec, unit), unit)
        if path.exists():
            results[unit] = json.loads(path.read_text())
            say(f"{unit.key}: cached")
        elif twin is not unit:
            copies[unit] = twin
        else:
            todo.append(unit)
    if client is not None and todo:
        futures = {unit: client.submit(run_unit, spec, unit, data, pure=False) for unit in todo}
        for unit, future in futures.items():
            results[unit] = _keep(folder, unit, future.result())
            say(f"{unit.key}: done ({results[unit]['info']['seconds']} s)")
    else:
        for unit in todo:
            results[unit] = _keep(folder, unit, run_unit(spec, unit, data))
            say(f"{unit.key}: done ({results[unit]['info']['seconds']} s)")
    for unit, twin in copies.items():  # the same training as an earlier unit: its result
        info = {**results[twin]["info"], "same_as": twin.key}
        results[unit] = _keep(folder, unit, {**results[twin], "unit": asdict(unit), "info": info})
        say(f"{unit.key}: the same training as {twin.key}")
    return [results[unit] for unit in units(spec)]


def check_data(spec: StudySpec, data: Mapping[str, xr.Dataset]) -> None:
    """Refuse, before any unit runs, data that some unit could not use.

    Raises
    ------
    DataError
        For a model whose kind of dataset is missing, a variant reading a stream the
        pooled runs lack, or a temporal window outside the season.
    """
    for model in spec.models:
        kind = model_kind(model)
        if kind not in data:
            raise DataError(f"{model} is a {kind} model: the study has no {kind} dataset.")
        ds = data[kind]
        for name, variant in spec.variants.items():
            wanted = [s for s in variant.get("inputs", ["s2"]) if s in model_inputs(model)]
            absent = [s for s in wanted if s not in ds]
            if absent:
                raise DataError(
                    f"Variant {name!r} reads {absent}, which the study's runs lack: drop it "
                    "from its inputs, or use runs whose provider offers it."
                )
            temporal_window(ds, variant.get("until"))  # a window outside the season fails


def _keep(folder: Path, unit: Unit, result: dict) -> dict:
    path = folder / "units" / f"{unit.key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:  # a unit's result is whole or absent
        tmp.write_text(json.dumps(result, indent=2))
    return result


def _claim_folder(spec: StudySpec, folder: Path) -> None:
    """Write ``study.json``, or refuse a folder holding another study's results."""
    identity = json.loads(json.dumps(spec.identity()))
    path = folder / "study.json"
    if path.exists():
        held = json.loads(path.read_text())
        if held != identity:
            differ = sorted(k for k in set(held) | set(identity) if held.get(k) != identity.get(k))
            raise ConfigError(
                f"{folder} holds the results of another study ({', '.join(differ)} differ): "
                "give this study a folder of its own, or remove that one to start again."
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(identity, indent=2))
