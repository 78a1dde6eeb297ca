"""XGBoost pixel baseline: boosted trees on flattened monthly time series.

Each pixel becomes one row: the Sentinel-2 bands of every period plus NDVI, and
optionally Sentinel-1 VV, VH and VH/VV per period and the EnMAP spectrum, reduced to
principal components and crop discriminants fitted on the training pixels. Training
draws a class-balanced subsample, weights the rows against class imbalance and stops
early on the validation set. It trains on the GPU (``device="cuda"``) when one is
present, and on a dask.distributed cluster through xgboost's Dask interface when a
client is given.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import joblib
import numpy as np
import xarray as xr

from ..compute.indices import NDVI_BANDS, ndvi
from ..core.errors import ConfigError, DataError
from ..datasets import class_names, class_weights, to_dataset_classes
from ..datasets.sampling import balanced_subsample
from ..datasets.torchdata import StreamSpec, check_inputs
from .base import checked_number, resolve_device
from .spectral import SpectralProjection

__all__ = ["XGBoostPixel", "pixel_features", "pixel_feature_names", "resolve_device"]


def pixel_features(ds: xr.Dataset, inputs: tuple[str, ...] = ("s2",)):
    """One feature row per sample (lazy when ``ds`` is dask-backed).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`cropkit.datasets.pixel_dataset`.
    inputs : tuple of str
        Any of ``"s2"``, ``"s1"``, ``"enmap"``.

    Returns
    -------
    array
        Dims ``(sample, feature)``, float32, columns named by
        :func:`pixel_feature_names`.
    """
    check_inputs(ds, inputs)
    blocks = []
    n = ds.sizes["sample"]
    if "s2" in inputs:
        check_feature_bands(ds)
        s2 = ds["s2"].data
        red, nir = (s2[:, :, list(ds["band"].values).index(b)] for b in NDVI_BANDS)
        blocks += [s2.reshape(n, -1), ndvi(red, nir)]
    if "s1" in inputs:
        s1 = ds["s1"].data
        pols = list(ds["pol"].values)
        blocks += [s1.reshape(n, -1), s1[:, :, pols.index("VH")] - s1[:, :, pols.index("VV")]]
    if "enmap" in inputs:
        blocks.append(ds["enmap"].data)
    if not blocks:
        return np.empty((n, 0), dtype=np.float32)
    if hasattr(blocks[0], "dask"):
        import dask.array as da

        return da.concatenate([b.astype("float32") for b in blocks], axis=1)
    return np.concatenate([np.asarray(b, dtype=np.float32) for b in blocks], axis=1)


def check_feature_bands(ds: xr.Dataset) -> None:
    """Refuse a dataset whose optical bands lack the red and near infrared of NDVI.

    Raises
    ------
    DataError
        Naming the bands the features need and those the dataset has.
    """
    bands = [str(b) for b in ds["band"].values]
    missing = [b for b in NDVI_BANDS if b not in bands]
    if missing:
        raise DataError(
            f"The XGBoost features need the Sentinel-2 bands {list(NDVI_BANDS)} (red, near "
            f"infrared) for NDVI, and the dataset's bands are {bands[:12]}: name the bands "
            "(from_arrays(..., band_names=['B02', 'B03', 'B04', 'B08', ...]))."
        )


def pixel_feature_names(ds: xr.Dataset, inputs: tuple[str, ...] = ("s2",)) -> list[str]:
    """Names of the columns of :func:`pixel_features`, in order."""
    names = []
    months = [f"t{t:02d}" for t in range(ds.sizes["time"])]
    if "s2" in inputs:
        names += [f"{b}_{m}" for m in months for b in ds["band"].values]
        names += [f"NDVI_{m}" for m in months]
    if "s1" in inputs:
        names += [f"{p}_{m}" for m in months for p in ds["pol"].values]
        names += [f"VHVV_{m}" for m in months]
    if "enmap" in inputs:
        names += [f"enmap_{w:.0f}nm" for w in ds["wavelength"].values]
    return names


class XGBoostPixel:
    """Gradient-boosted trees on per-pixel flattened time series.

    Parameters
    ----------
    n_estimators, learning_rate, max_depth, min_child_weight : float
        XGBoost hyperparameters (see ``models/configs/xgboost.yaml``).
    subsample, colsample_bytree, reg_lambda : float
        XGBoost hyperparameters (see ``models/configs/xgboost.yaml``).
    early_stopping_rounds : int
        Stop when the validation log-loss has not improved for this many rounds.
    max_train_pixels : int
        Size of the class-balanced training subsample (0: every pixel); validation
        uses a class-balanced subsample of half that size.
    class_weight_power : float
        Row weights ``(n / (K n_c)) ** power``.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    n_jobs : int
        CPU threads (0: all).
    enmap_components, enmap_discriminants : int, bool
        EnMAP spectra enter as a :class:`~cropkit.models.spectral.SpectralProjection`
        fitted on the training pixels (principal components, then linear discriminants
        when ``enmap_discriminants``), not as 224 raw bands.
    tier : str
        Tier whose labels it learns (``"tier4"`` by default; coarser tiers are scored by
        rolling up).
    inputs : tuple of str
        Sensors it reads: ``"s2"`` and optionally ``"s1"``, ``"enmap"``.
    seed : int
        Seed of the subsample and of XGBoost.
    """

    name = "xgboost"
    kind = "pixel"
    supported_inputs = ("s2", "s1", "enmap")
    hierarchical = False  # coarser tiers come by rolling tier 4 up
    is_global_zero = True  # one process, always the writer
    extra_arguments = ("tier", "inputs", "seed")

    def __init__(
        self,
        n_estimators: int,
        learning_rate: float,
        max_depth: int,
        min_child_weight: float,
        subsample: float,
        colsample_bytree: float,
        reg_lambda: float,
        early_stopping_rounds: int,
        max_train_pixels: int,
        class_weight_power: float,
        device: str,
        n_jobs: int,
        enmap_components: int,
        enmap_discriminants: bool,
        tier: str = "tier4",
        inputs: tuple[str, ...] | list[str] = ("s2",),
        seed: int = 0,
    ) -> None:
        number = checked_number  # every setting checked as the deep models' are
        self.params = {
            "n_estimators": number("n_estimators", n_estimators, int, 1),
            "learning_rate": number("learning_rate", learning_rate, float, 1),
            "max_depth": number("max_depth", max_depth, int, 1),
            "min_child_weight": number("min_child_weight", min_child_weight, float, 0),
            "subsample": number("subsample", subsample, float, 1, most=1),
            "colsample_bytree": number("colsample_bytree", colsample_bytree, float, 1, most=1),
            "reg_lambda": number("reg_lambda", reg_lambda, float, 0),
        }
        self.early_stopping_rounds = number("early_stopping_rounds", early_stopping_rounds, int, 0)
        self.max_train_pixels = number("max_train_pixels", max_train_pixels, int, 0)
        self.class_weight_power = number("class_weight_power", class_weight_power, float, 0)
        self.device = resolve_device(device)
        self.n_jobs = number("n_jobs", n_jobs, int, 0) or None
        self.enmap_components = number("enmap_components", enmap_components, int, 1)
        if not isinstance(enmap_discriminants, bool):
            raise ConfigError(
                f"enmap_discriminants must be true or false, not {enmap_discriminants!r}."
            )
        self.enmap_discriminants = enmap_discriminants
        self.projection_: SpectralProjection | None = None
        self.tier = tier
        self.inputs = tuple([inputs] if isinstance(inputs, str) else inputs)
        self.seed = int(seed)
        self.classes_: np.ndarray | None = None
        self.class_names_: list[str] = []
        self.booster_ = None
        self.spec: StreamSpec | None = None  # streams and classes it was trained on
        self.info: dict = {}

    def __repr__(self) -> str:
        return f"XGBoostPixel(tier={self.tier!r}, inputs={self.inputs}, device={self.device!r})"

    def _estimator(self, dask: bool = False):
        import xgboost

        if dask:
            from xgboost import dask as xgb_dask

            cls = xgb_dask.DaskXGBClassifier
        else:
            cls = xgboost.XGBClassifier
        return cls(
            **self.params,
            tree_method="hist",
            device=self.device,
            n_jobs=self.n_jobs,
            random_state=self.seed,
            early_stopping_rounds=self.early_stopping_rounds or None,
            eval_metric="mlogloss",
        )

    def fit(
        self,
        train: xr.Dataset,
        val: xr.Dataset | None = None,
        *,
        checkpoint_dir: str | Path | None = None,
        progress: bool = False,
        client=None,
    ) -> XGBoostPixel:
        """Train on ``train``; stop early on ``val`` when given.

        Parameters
        ----------
        train, val : xarray.Dataset
            Pixel datasets (:func:`cropkit.datasets.pixel_dataset`, one side each).
        checkpoint_dir, progress
            Part of the :class:`~cropkit.models.Classifier` contract; boosting keeps no
            checkpoints and shows no progress bar, so they are ignored.
        client : distributed.Client, optional
            Train with xgboost's Dask interface on this cluster; the features stay
            dask arrays and the subsample is skipped.

        Raises
        ------
        DataError
            If the training set has fewer than two classes.
        """
        check_inputs(train, self.inputs)
        if "s2" in self.inputs:
            check_feature_bands(train)
        y_all = train[self.tier].values
        classes = np.unique(y_all[y_all >= 0])
        if classes.size < 2:
            raise DataError(
                f"The training set has {classes.size} {self.tier} class(es); need two or more."
            )
        self.classes_ = classes
        self.class_names_ = class_names(train, self.tier)
        self.spec = StreamSpec.from_dataset(train, self.inputs)
        encode = np.full(len(self.class_names_), -1, dtype=np.int64)
        encode[classes] = np.arange(classes.size)
        rows = np.flatnonzero(y_all >= 0)
        if client is None:
            rows = rows[balanced_subsample(y_all[rows], self.max_train_pixels, self.seed)]
        y = encode[y_all[rows]]
        weights = class_weights(y, classes.size, self.class_weight_power)[y]
        if "enmap" in self.inputs:
            sample = rows[balanced_subsample(y_all[rows], 20000, self.seed)]
            self.projection_ = SpectralProjection(
                self.enmap_components, self.enmap_discriminants
            ).fit(train["enmap"].values[sample], y_all[sample])
        x = self.features(train.isel(sample=rows))
        model = self._estimator(dask=client is not None)
        eval_set = None
        if val is not None and self.early_stopping_rounds:
            seen = np.flatnonzero(np.isin(val[self.tier].values, classes))
            half = self.max_train_pixels // 2
            keep = balanced_subsample(val[self.tier].values[seen], half, self.seed)
            vsub = val.isel(sample=seen[keep])
            if vsub.sizes["sample"]:
                eval_set = [(self.features(vsub), encode[vsub[self.tier].values])]
        if eval_set is None:
            model.set_params(early_stopping_rounds=None)
        started = time.perf_counter()
        if client is not None:
            import dask.array as da

            model.client = client
            x = da.asarray(x).rechunk({1: -1})  # xgboost.dask wants whole rows per chunk
            y = da.from_array(y, chunks=x.chunks[0])
            weights = da.from_array(weights, chunks=x.chunks[0])
            if eval_set:
                vx = da.asarray(eval_set[0][0]).rechunk({1: -1})
                eval_set = [(vx, da.from_array(eval_set[0][1], chunks=vx.chunks[0]))]
        model.fit(x, y, sample_weight=weights, eval_set=eval_set, verbose=False)
        self.booster_ = model.get_booster()
        self.info = {
            "train_pixels": int(len(rows)),
            "features": int(x.shape[1]),
            "fit_seconds": round(time.perf_counter() - started, 2),
            "best_iteration": int(
                getattr(model, "best_iteration", self.params["n_estimators"] - 1)
            ),
            "device": self.device,
            "dask": client is not None,
        }
        return self

    def features(self, ds: xr.Dataset):
        """The model's feature rows ``(sample, feature)`` (see :meth:`feature_names`)."""
        series = tuple(name for name in self.inputs if name != "enmap")
        x = pixel_features(ds, series)
        if "enmap" not in self.inputs:
            return x
        if "enmap" not in ds:
            raise DataError("The dataset has no EnMAP input; build it with enmap=....")
        enmap = ds["enmap"].data
        if hasattr(x, "dask"):
            import dask.array as da

            enmap = da.asarray(enmap).rechunk({0: x.chunks[0], 1: -1})  # dask or numpy
            projected = da.map_blocks(
                self.projection_.transform,
                enmap,
                dtype=np.float32,
                chunks=(enmap.chunks[0], len(self.projection_.feature_names())),
            )
            return da.concatenate([x, projected], axis=1)
        return np.concatenate([x, self.projection_.transform(np.asarray(enmap))], axis=1)

    def feature_names(self, ds: xr.Dataset) -> list[str]:
        """Names of the feature columns, in order."""
        names = pixel_feature_names(ds, tuple(name for name in self.inputs if name != "enmap"))
        return names + (self.projection_.feature_names() if self.projection_ else [])

    def _trained_proba(self, ds: xr.Dataset) -> np.ndarray:
        """``(sample, class)`` over the trained classes ``classes_`` only."""
        if self.booster_ is None:
            raise DataError("The model is not trained yet: call fit() or load a saved one.")
        x = self.features(ds)
        limit = (0, self.info.get("best_iteration", -1) + 1) if self.info else (0, 0)
        proba = np.asarray(self.booster_.inplace_predict(np.asarray(x), iteration_range=limit))
        proba = proba.reshape(len(x), -1)
        if proba.shape[1] == 1:  # two classes: xgboost's binary objective gives P(second)
            proba = np.column_stack([1 - proba[:, 0], proba[:, 0]])
        return proba

    def predict_proba(self, ds: xr.Dataset) -> np.ndarray:
        """Tier-4 probabilities ``(sample, class)`` over ``spec.classes[tier]``.

        A class absent from the training set has probability 0.
        """
        proba = self._trained_proba(ds)
        full = np.zeros((len(proba), len(self.class_names_)), dtype=np.float32)
        full[:, self.classes_] = proba
        return full

    def predict(self, ds: xr.Dataset) -> np.ndarray:
        """Predicted class index of ``tier`` per sample, dims ``(sample,)``.

        Indices of the dataset's class list (``classes_<tier>``): re-mapped by name,
        with a warning, when ``ds`` lists other classes than the training set (see
        :func:`cropkit.datasets.to_dataset_classes`).
        """
        predicted = self.classes_[self._trained_proba(ds).argmax(axis=1)]
        seen = [self.class_names_[c] for c in self.classes_]
        return to_dataset_classes(predicted, self.class_names_, ds, self.tier, seen, self.name)

    def predict_tiers(self, ds: xr.Dataset, decoding: str = "joint") -> dict[str, np.ndarray]:
        """``{tier: predict(ds)}``: the one tier it answers.

        Coarser tiers come by roll-up, which nests whatever ``decoding`` says.
        """
        if decoding not in ("joint", "independent"):
            raise ConfigError(f"decoding must be 'joint' or 'independent', not {decoding!r}.")
        return {self.tier: self.predict(ds)}

    @property
    def taxonomy(self):
        """The taxonomy of the training set (build test sets against it)."""
        return self.spec.to_taxonomy() if self.spec else None

    def feature_importance(self, ds: xr.Dataset) -> dict[str, float]:
        """Total gain per named feature (names from :meth:`feature_names`)."""
        names = self.feature_names(ds)
        gain = self.booster_.get_score(importance_type="total_gain")
        return {names[int(k[1:])]: float(v) for k, v in gain.items()}

    def save(self, folder: str | Path) -> Path:
        """Write ``model.json`` (settings, classes) and ``booster.ubj`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(folder / "booster.ubj")
        if self.projection_ is not None:
            joblib.dump(self.projection_, folder / "enmap_projection.joblib")
        meta = {
            "name": self.name,
            "params": self.params,
            "early_stopping_rounds": self.early_stopping_rounds,
            "max_train_pixels": self.max_train_pixels,
            "class_weight_power": self.class_weight_power,
            "enmap_components": self.enmap_components,
            "enmap_discriminants": self.enmap_discriminants,
            "tier": self.tier,
            "inputs": list(self.inputs),
            "seed": self.seed,
            "classes": self.classes_.tolist(),
            "class_names": self.class_names_,
            "spec": self.spec.to_dict() if self.spec else None,
            "info": self.info,
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> XGBoostPixel:
        """Read a model written by :meth:`save`."""
        import xgboost

        folder = Path(folder)
        meta = json.loads((folder / "model.json").read_text())
        model = cls(
            **meta["params"],
            early_stopping_rounds=meta["early_stopping_rounds"],
            max_train_pixels=meta["max_train_pixels"],
            class_weight_power=meta["class_weight_power"],
            enmap_components=meta["enmap_components"],
            enmap_discriminants=meta["enmap_discriminants"],
            device="cpu",
            n_jobs=0,
            tier=meta["tier"],
            inputs=tuple(meta["inputs"]),
            seed=meta["seed"],
        )
        model.booster_ = xgboost.Booster()
        model.booster_.load_model(folder / "booster.ubj")
        if (folder / "enmap_projection.joblib").exists():
            model.projection_ = joblib.load(folder / "enmap_projection.joblib")
        model.classes_ = np.asarray(meta["classes"])
        model.class_names_ = meta["class_names"]
        model.spec = StreamSpec.from_dict(meta["spec"]) if meta.get("spec") else None
        model.info = meta["info"]
        return model
