"""Integrated Gradients for any deep model, and both read against a known truth.

Attention is what a network chooses to show; gradients are what its output answers to.
:func:`integrated_gradients` (with captum, the ``explain`` extra) attributes each test
sample's score for its class to every (date, band) of its Sentinel-2 series, for every
deep model, with or without attention. :func:`attribution_profiles` turns them into a
weight per date and class, comparable with temporal attention
(:func:`cropkit.analysis.attention.class_profiles`); :func:`rank_agreement` compares the two per
class. :func:`peak_agreement` scores either against the dates where two look-alike
crops really differ, which the demo simulator knows
(:func:`cropkit.demo.canopy_separation`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr
from scipy import stats

from ..compute.splits import TEST
from ..core.errors import ConfigError, DataError, MissingExtraError
from ..datasets import select_split
from ..models import NETWORKS, is_network
from .attention import _time_coords

__all__ = [
    "LOOKALIKE_PAIRS",
    "captum_missing",
    "deep_models",
    "integrated_gradients",
    "attribution_profiles",
    "rank_agreement",
    "lookalike_pairs",
    "peak_agreement",
    "peak_summary",
    "truth_scores",
]


#: What to do when captum is missing.
CAPTUM_HINT = (
    'Integrated Gradients need captum: pip install "cropkit[explain]" (or pip install captum) '
    "in the environment of this kernel, then rerun."
)


#: Tier-4 crops that look alike from space, as pairs (those absent from a run are skipped).
LOOKALIKE_PAIRS = (
    ("winter_soft_wheat", "winter_durum_wheat"),
    ("winter_soft_wheat", "winter_barley"),
    ("winter_soft_wheat", "winter_triticale"),
    ("winter_barley", "spring_barley"),
    ("grain_maize", "silage_maize"),
    ("temporary_meadow", "permanent_meadow"),
    ("temporary_meadow", "alfalfa"),
    ("sugar_beet", "potato"),
    ("sunflower", "soybean"),
)


def lookalike_pairs(classes) -> list[tuple[str, str]]:
    """The pairs of :data:`LOOKALIKE_PAIRS` whose two crops are both in ``classes``."""
    present = set(classes)
    return [pair for pair in LOOKALIKE_PAIRS if set(pair) <= present]


def deep_models(names) -> list[str]:
    """The deep models among ``names`` (Integrated Gradients explain them all)."""
    return [n for n in names if n in NETWORKS]


def captum_missing() -> str | None:
    """None when captum can be imported, else how to install it."""
    try:
        import captum.attr  # noqa: F401
    except ImportError:
        return CAPTUM_HINT
    return None


def integrated_gradients(
    model,
    ds: xr.Dataset,
    split: int | None = TEST,
    max_samples: int = 256,
    n_steps: int = 16,
    batch_size: int = 32,
) -> xr.DataArray:
    """Integrated Gradients of the reference class over (date, band), for any deep model.

    The path runs from the training mean of every band (zero after standardisation: "no
    information") to the sample; missing values are set to that mean first. Pixel
    models are explained per pixel; patch models per patch, for the mean logit of the
    patch's majority class over the pixels of that class, summed over the patch.

    Parameters
    ----------
    model : cropkit.trainer.DeepClassifier
        A trained deep model (with or without attention).
    ds : xarray.Dataset
        Its pixel or patch dataset.
    split : int or None
        Split code (test by default).
    max_samples : int
        Samples (patches) explained, evenly spaced over the split.
    n_steps : int
        Steps of the path integral (captum's Gauss-Legendre rule).
    batch_size : int
        Samples per call.

    Returns
    -------
    xarray.DataArray
        ``(sample, time, band)`` attributions (logit units; they sum to the logit
        difference between sample and baseline) with ``tier4`` (class) per sample.

    Raises
    ------
    MissingExtraError
        If captum is not installed (``pip install "cropkit[explain]"``).
    """
    try:
        from captum.attr import IntegratedGradients
    except ImportError as err:
        raise MissingExtraError(CAPTUM_HINT) from err
    from ..datasets.torchdata import TensorStreams

    if not is_network(model.name) or model.spec is None:
        raise ConfigError(f"{model!r} is not a trained deep model: Integrated Gradients need one.")
    first = "patch" if model.kind == "patch" else "sample"
    part = select_split(ds, split) if split is not None else ds
    if part.sizes.get(first, 0) == 0:
        raise DataError(f"The dataset has no {first} in split {split}: nothing to explain.")
    if part.sizes[first] > max_samples:
        keep = np.unique(np.linspace(0, part.sizes[first] - 1, max_samples).round().astype(int))
        part = part.isel({first: keep})
    module = model.module.to("cpu").eval()
    streams = TensorStreams(part, model.inputs)
    mean = model.input_mean("s2")
    attributions, targets = [], []
    for index in torch.arange(len(streams)).split(batch_size):
        batch = streams[index]
        target = _target_class(batch["tier4"])
        s2, base, others = explained_inputs(batch, mean)
        ig = IntegratedGradients(_logit_of_target(module, model.kind, others, target))
        attr = ig.attribute(s2, baselines=base, n_steps=n_steps).detach()
        if model.kind == "patch":
            attr = attr.sum(dim=(-2, -1))
        attributions.append(attr.numpy())
        targets.append(target.numpy())
    names = np.asarray(model.spec.classes["tier4"])
    out = xr.DataArray(
        np.concatenate(attributions),
        dims=("sample", "time", "band"),
        coords={
            "tier4": ("sample", names[np.concatenate(targets)]),
            "band": model.spec.channel_names["s2"],
            **_time_coords(part, "time"),
        },
        name="attribution",
        attrs={"model": model.name, "n_steps": n_steps},
    )
    return out


def explained_inputs(batch: dict, mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """A batch's S2 series with gaps set to the baseline, the baseline, the other streams.

    The baseline is the training mean of every band (``mean``, ``(C,)``), broadcast over
    the batch ``(B, T, C[, H, W])``: "no information" after standardisation.
    """
    shape = [1] * batch["s2"].ndim
    shape[2] = -1
    base = mean.view(shape).expand_as(batch["s2"])
    s2 = torch.where(torch.isnan(batch["s2"]), base, batch["s2"])
    return s2, base, {k: v for k, v in batch.items() if k != "s2"}


def _target_class(labels: torch.Tensor) -> torch.Tensor:
    """Reference class per sample; a patch's majority class among its labelled pixels."""
    if labels.ndim == 1:
        return labels.long()
    flat = labels.flatten(1).long()
    counts = torch.stack([(flat == k).sum(1) for k in range(int(flat.max()) + 1)], dim=1)
    return counts.argmax(1)


def _logit_of_target(module, kind: str, others: dict, target: torch.Tensor):
    """``f(s2) -> (B * steps,)`` the target class's logit; captum tiles ``s2`` by steps."""

    def forward(s2: torch.Tensor) -> torch.Tensor:
        repeat = s2.shape[0] // target.shape[0]
        batch = {k: v.repeat(repeat, *[1] * (v.ndim - 1)) for k, v in others.items()}
        batch["s2"] = s2
        logits = module(batch)["tier4"]
        target_r = target.repeat(repeat)
        if kind == "pixel":
            return logits.gather(1, target_r[:, None])[:, 0]
        picked = logits.gather(1, target_r.view(-1, 1, 1, 1).expand(-1, 1, *logits.shape[2:]))
        mask = (batch["tier4"] == target_r.view(-1, 1, 1)).float()
        return (picked[:, 0] * mask).sum((1, 2)) / mask.sum((1, 2)).clamp(min=1)

    return forward


def attribution_profiles(attributions: xr.DataArray) -> xr.DataArray:
    """Share of each date in the absolute attribution, per class: ``(class, time)``.

    Absolute attributions summed over bands, averaged over the class's samples and
    scaled to sum to one over dates, so they read like temporal attention.
    """
    per_date = abs(attributions).sum("band")
    per_date = per_date / per_date.sum("time").where(per_date.sum("time") > 0)
    return per_date.groupby(attributions["tier4"].rename("class")).mean("sample")


def rank_agreement(first: xr.DataArray, second: xr.DataArray) -> pd.DataFrame:
    """Spearman rank correlation over dates of two ``(class, time)`` profiles, per class.

    Returns
    -------
    pandas.DataFrame
        Index the classes in both; ``spearman`` and ``p_value``.
    """
    classes = [c for c in first["class"].values if c in set(second["class"].values)]
    rows = {}
    for c in classes:
        a = np.asarray(first.sel({"class": c}).values, dtype=float)
        b = np.asarray(second.sel({"class": c}).values, dtype=float)
        rho, p = stats.spearmanr(a, b) if np.ptp(a) and np.ptp(b) else (np.nan, np.nan)
        rows[c] = {"spearman": float(rho), "p_value": float(p)}
    return pd.DataFrame(rows).T.rename_axis("class")


def peak_agreement(separation: xr.DataArray, profiles: dict, top: int = 3) -> pd.DataFrame:
    """Whether each profile peaks where two look-alike crops differ most.

    Parameters
    ----------
    separation : xarray.DataArray
        ``(pair, time)`` how far apart the two crops of each pair are on each date (the
        truth: :func:`cropkit.demo.truth.canopy_separation`), with coordinates ``a`` and
        ``b`` (the two crops) per pair.
    profiles : dict
        Source name (``"attention"``, ``"gradients"``) -> ``(class, time)`` profile
        (:func:`cropkit.analysis.attention.class_profiles` averaged over heads,
        :func:`attribution_profiles`).
    top : int
        How many of the most separating dates count as "the right dates".

    Returns
    -------
    pandas.DataFrame
        One row per pair and source: ``a``, ``b``, ``source``, ``separating`` (the
        ``top`` dates, most separating first), ``peak`` (the date the pair's mean
        profile weighs most), ``peak_rank`` (1: the most separating date), ``hit``
        (the peak is among the ``top``), ``chance`` (``top`` / dates) and ``spearman``
        (rank correlation of the profile with the separation over all dates).
    """
    labels = _date_labels(separation)
    rows = []
    for i in range(separation.sizes["pair"]):
        sep = separation.isel(pair=i)
        a, b = str(sep["a"].values), str(sep["b"].values)
        order = np.argsort(-sep.values, kind="stable")
        for source, profile in profiles.items():
            present = set(profile["class"].values)
            if a not in present or b not in present:
                continue
            mean = profile.sel({"class": [a, b]}).mean("class").values
            peak = int(np.nanargmax(mean))
            rank = int(np.flatnonzero(order == peak)[0]) + 1
            rho = stats.spearmanr(mean, sep.values)[0] if np.ptp(mean) else np.nan
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "source": source,
                    "separating": ", ".join(labels[j] for j in order[:top]),
                    "peak": labels[peak],
                    "peak_rank": rank,
                    "hit": rank <= top,
                    "chance": top / sep.sizes["time"],
                    "spearman": float(rho),
                }
            )
    return pd.DataFrame(rows)


def _date_labels(da: xr.DataArray) -> list[str]:
    values = da["time"].values if "time" in da.coords else np.arange(da.sizes["time"])
    if np.issubdtype(np.asarray(values).dtype, np.datetime64):
        return [pd.Timestamp(v).strftime("%d %b") for v in values]
    return [str(v) for v in values]


def peak_summary(peaks: pd.DataFrame) -> pd.DataFrame:
    """Share of pairs whose peak falls on the right dates, per model and source.

    Parameters
    ----------
    peaks : pandas.DataFrame
        :func:`peak_agreement` tables with a ``model`` column.

    Returns
    -------
    pandas.DataFrame
        Index ``(model, source)``; ``pairs``, ``hit_rate``, ``chance``, ``mean_spearman``.
    """
    if peaks.empty:  # no look-alike pair in the test zone
        return pd.DataFrame(columns=["pairs", "hit_rate", "chance", "mean_spearman"])
    groups = peaks.groupby(["model", "source"])
    return pd.DataFrame(
        {
            "pairs": groups.size(),
            "hit_rate": groups["hit"].mean(),
            "chance": groups["chance"].mean(),
            "mean_spearman": groups["spearman"].mean(),
        }
    )


def truth_scores(
    separation: xr.DataArray, attention: dict, gradients: dict, top: int = 3
) -> pd.DataFrame:
    """:func:`peak_agreement` for every model, attention and gradients alike.

    Parameters
    ----------
    separation : xarray.DataArray
        ``(pair, time)`` the truth (:func:`cropkit.demo.canopy_separation`).
    attention, gradients : dict
        Model -> ``(class, time)`` profile (temporal attention averaged over heads;
        :func:`attribution_profiles`). A model may be in one or both.
    top : int
        How many of the most separating dates count as the right ones.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`peak_agreement` with a ``model`` column first.
    """
    tables = []
    for name in dict.fromkeys([*attention, *gradients]):
        sources = {"attention": attention.get(name), "gradients": gradients.get(name)}
        sources = {k: v for k, v in sources.items() if v is not None}
        table = peak_agreement(separation, sources, top)
        tables.append(table.assign(model=name)[["model", *table.columns]])
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
