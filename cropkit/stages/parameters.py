"""Each notebook's parameters, checked all at once before the notebook writes anything.

A notebook's first code cell hands its namespace to :func:`check`, which checks every
parameter of its ``parameters`` cell (types, ranges, names of models, sensors, zones)
and returns the run's :class:`~cropkit.config.RunConfig`. A wrong value stops the
notebook there with a :class:`~cropkit.core.errors.ConfigError` naming the parameter, what
it got and what it takes, before a product of the run folder is touched.

Examples
--------
In a notebook, after its ``parameters`` cell:

>>> cfg = check("02_cloud_masking", globals())  # doctest: +SKIP
ConfigError: buffer_px must be a whole number from 0 to 50, not -1.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..access.providers import SENSOR_NAMES
from ..config import RunConfig
from ..core.errors import ConfigError
from .rules import (
    Rule,
    Setting,
    boolean,
    choice,
    date_or_empty,
    fraction,
    integer,
    listing,
    number,
    settings,
    text,
    with_defaults,
    word,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..core.run import RunFolder

__all__ = [
    "check",
    "rules",
    "settings",
    "settings_frame",
    "with_defaults",
    "Setting",
    "StageParameters",
    "MaskingParameters",
    "ParcelParameters",
    "CompositeParameters",
    "TrainingParameters",
    "AttentionParameters",
    "ConfusionParameters",
    "COMMON",
    "GROUPS",
    "NOTEBOOK_RULES",
    "STUDIES",
    "TRAINING",
]

#: Parameters of every notebook: those of :class:`~cropkit.config.RunConfig`.
COMMON = (
    "region",
    "year",
    "season",
    "aoi",
    "zone_km",
    "epsg",
    "stac",
    "max_cloud",
    "profile",
    "run_root",
    "seed",
)


def _model_names() -> tuple[str, ...]:
    from ..models import model_names

    return tuple(model_names())


def _periods() -> tuple[str, ...]:
    from ..compute.composite import PERIODS

    return tuple(PERIODS)


_SENSORS = ("s2", "s1", "enmap")


#: Notebook 04's ``training`` parameter: how labels and datasets are made, how long models train.
TRAINING: dict[str, Setting] = {
    "buffer_m": Setting(
        10.0, number(0, 500), "shrink parcels by this many metres (drops mixed borders)"
    ),
    "min_area_m2": Setting(2000.0, number(0), "drop parcels smaller than this after the buffer"),
    "val_fraction": Setting(0.2, fraction, "share of the training zones kept for early stopping"),
    "patch_size": Setting(32, integer(16), "side of the patches of spatial models (pixels)"),
    "max_train_pixels": Setting(20000, integer(0), "XGBoost's class-balanced subsample (0: all)"),
    "epochs": Setting(
        20, integer(1, 10_000), "deep models: most epochs (early stopping ends sooner)"
    ),
    "train_minutes": Setting(
        2.0, number(0, open_low=True), "deep models: training budget of each, in minutes"
    ),
}

#: Notebook 04's ``studies`` parameter: the studies after training, and their model.
STUDIES: dict[str, Setting] = {
    "study_model": Setting(
        "xgboost", choice(_model_names), "model of the studies (leakage and CV: pixel models only)"
    ),
    "leakage_report": Setting(True, boolean, "also score a random pixel split (the leak)"),
    "folds": Setting(0, integer(0, 20, exclude=(1,)), "spatial cross-validation folds (0: none)"),
    "block_px": Setting(64, integer(8), "side of the cross-validation blocks (pixels)"),
    "compare_inputs": Setting(
        False, boolean, "also train with Sentinel-1 and EnMAP and compare (1 min)"
    ),
    "cloud_study": Setting(
        False, boolean, "also train under cloudy seasons, with and without radar (2 min)"
    ),
}


#: Grouped parameters by name.
GROUPS = {"training": TRAINING, "studies": STUDIES}


def settings_frame(groups: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Every setting of grouped parameters: its value, its default and what it does.

    Parameters
    ----------
    groups : mapping
        Parameter name (``"training"``, ``"studies"``) -> its settings.

    Returns
    -------
    pandas.DataFrame
        Indexed by (parameter, setting), with columns ``value``, ``default`` (values
        shown as text) and ``what``.
    """
    import pandas as pd

    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        raise ConfigError(f"No grouped parameter {unknown}; they are {list(GROUPS)}.")
    rows = []
    for group, given in groups.items():
        values = with_defaults(GROUPS[group], given)
        for key, setting in GROUPS[group].items():
            rows.append((group, key, repr(values[key]), repr(setting.default), setting.doc))
    frame = pd.DataFrame(rows, columns=["parameter", "setting", "value", "default", "what"])
    return frame.set_index(["parameter", "setting"])


def parameter(default: Any, rule: Rule, doc: str) -> Any:
    """A field of a :class:`StageParameters`: its default, its rule and what it does."""
    factory = (lambda: copy.deepcopy(default)) if isinstance(default, (list, dict)) else None
    metadata = {"rule": rule, "doc": doc}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class StageParameters:
    """A notebook's own parameters, declared once (beyond :data:`COMMON`).

    Each field has a default (the value of the notebook's ``parameters`` cell), a rule
    and a line of documentation. The same declaration checks the notebook's values
    (:func:`check`), checks a rerun file's overrides, is what the notebook records in the
    run's manifest (:meth:`record`) and what a later notebook reads back from it
    (:meth:`recorded`: an error, not a fallback, when the notebook has not run).
    """

    notebook: ClassVar[str] = ""

    @classmethod
    def rules(cls) -> dict[str, Rule]:
        """Parameter -> rule, as :data:`NOTEBOOK_RULES` holds them."""
        return {f.name: f.metadata["rule"] for f in dataclasses.fields(cls)}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Parameter -> default value, as the notebook's ``parameters`` cell writes it."""
        return {
            f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(cls)
        }

    @classmethod
    def of(cls, namespace: Mapping[str, Any]):
        """The parameters in ``namespace`` (a notebook's ``globals()``), each checked."""
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in namespace]
        if missing:
            raise ConfigError(f"Parameters {missing} of {cls.notebook} are not set.")
        for name, rule in cls.rules().items():
            rule(name, namespace[name])
        return cls(**{n: copy.deepcopy(namespace[n]) for n in names})

    @classmethod
    def recorded(cls, run: RunFolder):
        """The parameters the notebook recorded in ``run``'s manifest.

        Raises
        ------
        DataError
            If the notebook has not run for this run (or ran with an older cropkit that
            recorded fewer parameters): run it first.
        """
        from ..core.errors import DataError

        given = run.notebook_parameters(cls.notebook)
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in given]
        if missing:
            what = "has not run" if not given else f"recorded no {missing}"
            raise DataError(
                f"Notebook {cls.notebook} {what} for the run {run.path.name}: run it for this "
                "run first (its settings are what this step follows)."
            )
        return cls(**{n: given[n] for n in names})

    def record(self) -> dict[str, Any]:
        """Parameter -> value, for the run's manifest."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MaskingParameters(StageParameters):
    """Notebook 02's parameters: the SCL classes kept, the buffer, what to show."""

    notebook: ClassVar[str] = "02_cloud_masking"
    keep_classes: list = parameter(
        [4, 5, 6, 7],
        listing(tuple(range(12)), kind=numbers.Integral, what="SCL classes"),
        "SCL classes kept as clear",
    )
    buffer_px: int = parameter(1, integer(0, 50), "grow clouds and shadows by this many pixels")
    example_date: str = parameter("", date_or_empty, "date of the scene to show")
    check_cogs: bool = parameter(False, boolean, "open every COG header first")
    scheduler: str = parameter("threads", text, 'Dask: "threads", "" (processes) or an address')


@dataclass(frozen=True)
class ParcelParameters(StageParameters):
    """The parcel file and its crop codes: notebooks 03 and 04 read parcels alike."""

    parcels_path: str = parameter("", text, "RPG parcels file, or ign-wfs (empty: the data's)")
    code_column: str = parameter("CODE_CULTU", word, "crop-code column of parcels_path")
    crop_codes: str = parameter("rpg", word, 'codes to four tiers: "rpg", "hcat3" or a CSV')


@dataclass(frozen=True)
class CompositeParameters(ParcelParameters):
    """Notebook 03's parameters: the parcels, the compositing period, the scheduler."""

    notebook: ClassVar[str] = "03_composites"
    period: str = parameter("month", choice(_periods), "compositing period")
    overwrite: bool = parameter(False, boolean, "recompute composites already saved")
    scheduler: str = parameter("threads", text, 'Dask: "threads", "" (processes) or an address')


@dataclass(frozen=True)
class TrainingParameters(ParcelParameters):
    """Notebook 04's parameters: parcels, models, inputs, zones, training and studies."""

    notebook: ClassVar[str] = "04_model_training"
    models: list = parameter(
        ["xgboost", "ltae"],
        listing(_model_names, single=True, what="model names"),
        "models to train and compare",
    )
    inputs: list = parameter(["s2"], listing(_SENSORS, what="sensors"), "sensors models read")
    test_zones: list = parameter(["z2"], listing(what="zone ids"), "zones held out for testing")
    training: dict = parameter({}, settings(TRAINING), "changes to TRAINING")
    studies: dict = parameter({}, settings(STUDIES), "changes to STUDIES")

    def __post_init__(self) -> None:
        # every setting recorded (a later default change cannot alter a recorded run)
        object.__setattr__(self, "training", with_defaults(TRAINING, self.training))
        object.__setattr__(self, "studies", with_defaults(STUDIES, self.studies))
        if isinstance(self.models, str):  # a single name, as the notebook allows
            object.__setattr__(self, "models", [self.models])


@dataclass(frozen=True)
class AttentionParameters(StageParameters):
    """Notebook 05's parameters: which models, how many samples, the truth's score."""

    notebook: ClassVar[str] = "05_attention_visualization"
    models: Any = parameter(
        "all", listing(every="all", single=True, what="model names"), "attention models to read"
    )
    max_samples: int = parameter(20000, integer(1), "test pixels read per pixel model")
    max_patches: int = parameter(200, integer(1), "test patches read per patch model")
    attribution_samples: int = parameter(256, integer(0), "pixels explained by gradients")
    attribution_steps: int = parameter(16, integer(2, 1000), "steps of Integrated Gradients")
    top_dates: int = parameter(3, integer(1, 100), "a truth peak among this many is a hit")
    classes: list = parameter([], listing(empty=True, what="class names"), "classes to draw")


@dataclass(frozen=True)
class ConfusionParameters(StageParameters):
    """Notebook 06's parameters: which models, the pair to test, resampling sizes."""

    notebook: ClassVar[str] = "06_confusion_analysis"
    models: Any = parameter(
        "all", listing(every="all", single=True, what="model names"), "models to analyse"
    )
    compare: list = parameter([], listing(empty=True, what="model names"), "McNemar's pair")
    n_boot: int = parameter(1000, integer(0, 100_000), "bootstrap replicates")
    area_sample: int = parameter(100, integer(0), "reference pixels per map class (0: all)")
    top_pairs: int = parameter(5, integer(1, 1000), "most confused pairs listed per tier")


#: Parameter -> rule, per notebook (beyond :data:`COMMON`).
NOTEBOOK_RULES: dict[str, dict[str, Rule]] = {
    "01_stac_discovery": {},
    "02_cloud_masking": MaskingParameters.rules(),
    "03_composites": CompositeParameters.rules(),
    "04_model_training": TrainingParameters.rules(),
    "05_attention_visualization": AttentionParameters.rules(),
    "06_confusion_analysis": ConfusionParameters.rules(),
}


def rules(notebook: str) -> dict[str, Rule]:
    """The rules of a notebook's own parameters (by name or number, e.g. ``"04"``)."""
    for name, table in NOTEBOOK_RULES.items():
        if notebook == name or name.split("_")[0] == str(notebook):
            return table
    raise ConfigError(f"No notebook called {notebook!r}; the notebooks are {list(NOTEBOOK_RULES)}.")


def check(notebook: str, namespace: Mapping[str, object]) -> RunConfig:
    """Check every parameter of ``notebook`` and return the run's configuration.

    Parameters
    ----------
    notebook : str
        The notebook (``"04_model_training"`` or ``"04"``).
    namespace : mapping
        Its parameters by name: ``globals()`` in the notebook.

    Returns
    -------
    RunConfig
        Made from the :data:`COMMON` parameters.

    Raises
    ------
    ConfigError
        The first parameter that is missing or wrong: its name, its value and what it
        takes.
    """
    table = rules(notebook)
    missing = [name for name in (*COMMON, *table) if name not in namespace]
    if missing:
        raise ConfigError(f"Parameters {missing} of {notebook} are not set.")
    for name, rule in table.items():
        rule(name, namespace[name])
    common = {name: namespace[name] for name in COMMON}
    for name in ("region", "profile", "run_root"):
        word(name, common[name])
    text("season", common["season"])
    number(0.1, 300)("zone_km", common["zone_km"])
    integer(0)("seed", common["seed"])
    integer(0)("epsg", common["epsg"])
    number(0, 100)("max_cloud", common["max_cloud"])
    if not isinstance(common["aoi"], (str, list, tuple)):
        raise ConfigError(f"aoi must be a bbox or a file path, not {common['aoi']!r}.")
    if not isinstance(common["stac"], str):
        raise ConfigError(f"stac must be a provider name or a URL, not {common['stac']!r}.")
    config = RunConfig(**common)
    _check_with_config(table, namespace, config)
    return config


def _check_with_config(table: dict, namespace: Mapping, config: RunConfig) -> None:
    """The checks that need the run's grid or provider (zones, sensors)."""
    if "test_zones" in table:
        known = list(config.grid.zones_frame()["zone_id"])
        zones = namespace["test_zones"]
        if not set(zones) <= set(known) or set(zones) == set(known):
            raise ConfigError(
                f"test_zones must name some but not all of this area's zones {known}, not "
                f"{list(zones)}."
            )
    if "inputs" in table:
        if "s2" not in namespace["inputs"]:
            raise ConfigError(f"inputs must include 's2', not {namespace['inputs']!r}.")
        unknown = sorted(set(namespace["inputs"]) - set(SENSOR_NAMES))
        if unknown:  # one the provider lacks is left out later, with a note
            raise ConfigError(
                f"inputs has no sensor {unknown}; the sensors are {list(SENSOR_NAMES)}."
            )
    if "training" in table:
        size = with_defaults(TRAINING, namespace["training"])["patch_size"]
        side = min(config.grid.shape)
        if size % 16 or size > side:
            raise ConfigError(
                "training['patch_size'] must be a multiple of 16 (the U-Nets halve a patch four "
                f"times) and at most the area's side of {side} px, not {size!r}."
            )
