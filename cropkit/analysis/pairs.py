"""What tells two look-alike crops apart: pair-specific probes of attention and gradients.

A class's mean attention says where a model looks for that crop, not what separates it
from the crop it is mistaken for: both crops of a pair may lean on June because June is
when every canopy is full. The probes here ask the pair's own question:

- :func:`attention_contrast`: the difference of the two classes' temporal attention on
  their own pixels, per date (where the model looks differently for one than the other);
- :func:`pair_gradients`: Integrated Gradients (captum) of the logit *difference* between
  the two classes, on the pixels of both, as a share per date (which dates move the
  model's choice between them).

:func:`pair_peaks` scores each probe's peak against the period where the simulated
canopies of the two crops separate most (:func:`cropkit.demo.canopy_separation`): a hit
when the peak falls within ``tolerance`` periods of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..compute.splits import TEST
from ..core.errors import ConfigError, DataError, MissingExtraError
from ..datasets import select_split
from ..models import is_network
from .attention import _time_coords
from .attribution import CAPTUM_HINT, _date_labels, explained_inputs

__all__ = ["attention_contrast", "pair_gradients", "pair_peaks", "pair_hit_rates"]


def attention_contrast(profile: xr.DataArray, a: str, b: str) -> xr.DataArray:
    """``|attention(a) - attention(b)|`` per date: where the model looks differently.

    Parameters
    ----------
    profile : xarray.DataArray
        ``(class, time)`` temporal attention per class on its own pixels (averaged over
        heads: :func:`cropkit.analysis.attention.class_profiles`).
    a, b : str
        The two crops (tier-4 names).

    Returns
    -------
    xarray.DataArray
        ``(time,)``.

    Raises
    ------
    DataError
        If a crop has no profile (no test pixel of it).
    """
    missing = [c for c in (a, b) if c not in set(profile["class"].values)]
    if missing:
        raise DataError(f"No attention profile for {missing}: the test samples hold none of it.")
    contrast = abs(profile.sel({"class": a}) - profile.sel({"class": b}))
    return contrast.drop_vars("class", errors="ignore")


def pair_gradients(
    model,
    ds: xr.Dataset,
    a: str,
    b: str,
    split: int | None = TEST,
    max_samples: int = 128,
    n_steps: int = 16,
    batch_size: int = 32,
) -> xr.DataArray:
    """Integrated Gradients of ``logit(a) - logit(b)``, as a share per date.

    The path runs from the training mean of every band (a neutral input) to the sample,
    on the samples of either crop (pixels; for patch models, the patches holding either,
    the difference averaged over their pixels of the two crops). Absolute attributions
    are summed over bands and samples and scaled to sum to one over dates.

    Parameters
    ----------
    model : cropkit.trainer.DeepClassifier
        A trained deep model.
    ds : xarray.Dataset
        Its pixel or patch dataset.
    a, b : str
        The two crops (tier-4 names).
    split : int or None
        Split code (test by default).
    max_samples : int
        Samples (patches) explained at most, evenly spaced.
    n_steps : int
        Steps of the path integral.
    batch_size : int
        Samples per call.

    Returns
    -------
    xarray.DataArray
        ``(time,)`` share of the attribution per date.

    Raises
    ------
    MissingExtraError
        Without captum (``pip install "cropkit[explain]"``).
    DataError
        If the split holds no sample of either crop, or the model does not know one.
    """
    try:
        from captum.attr import IntegratedGradients
    except ImportError as err:
        raise MissingExtraError(CAPTUM_HINT) from err
    from ..datasets.torchdata import TensorStreams

    if not is_network(model.name) or model.spec is None:
        raise ConfigError(f"{model!r} is not a trained deep model: Integrated Gradients need one.")
    names = list(model.spec.classes["tier4"])
    unknown = [c for c in (a, b) if c not in names]
    if unknown:
        raise DataError(f"{model.name} has no class {unknown}: pick a pair it was trained on.")
    ia, ib = names.index(a), names.index(b)
    part = select_split(ds, split) if split is not None else ds
    first = "patch" if "patch" in part.dims else "sample"
    labels = part["tier4"].values
    holds = np.isin(labels, [ia, ib])
    if holds.ndim > 1:
        holds = holds.reshape(holds.shape[0], -1).any(1)
    keep = np.flatnonzero(holds)
    if keep.size == 0:
        raise DataError(f"No {first} of {a} or {b} in the split: nothing to explain.")
    if keep.size > max_samples:
        keep = keep[np.unique(np.linspace(0, keep.size - 1, max_samples).round().astype(int))]
    part = part.isel({first: keep})
    module = model.module.to("cpu").eval()
    streams = TensorStreams(part, model.inputs)
    mean = model.input_mean("s2")
    total = np.zeros(part.sizes["time"])
    for index in torch.arange(len(streams)).split(batch_size):
        s2, base, others = explained_inputs(streams[index], mean)
        forward = _logit_difference(module, model.kind, others, ia, ib)
        attr = IntegratedGradients(forward).attribute(s2, baselines=base, n_steps=n_steps)
        per_date = attr.detach().abs().sum(2)  # over bands: (B, T[, H, W])
        total += per_date.reshape(per_date.shape[0], per_date.shape[1], -1).sum((0, 2)).numpy()
    share = total / total.sum() if total.sum() > 0 else total
    return xr.DataArray(
        share,
        dims="time",
        coords=_time_coords(part, "time"),
        name="pair_gradients",
        attrs={"model": model.name, "a": a, "b": b, "samples": int(keep.size)},
    )


def _logit_difference(module, kind: str, others: dict, ia: int, ib: int):
    """``f(s2) -> (B * steps,)``: ``logit(a) - logit(b)`` (patches: over their a/b pixels)."""

    def forward(s2: torch.Tensor) -> torch.Tensor:
        repeat = s2.shape[0] // others["tier4"].shape[0]
        batch = {k: v.repeat(repeat, *[1] * (v.ndim - 1)) for k, v in others.items()}
        batch["s2"] = s2
        logits = module(batch)["tier4"]
        difference = logits[:, ia] - logits[:, ib]
        if kind == "pixel":
            return difference
        mask = ((batch["tier4"] == ia) | (batch["tier4"] == ib)).float()
        return (difference * mask).sum((1, 2)) / mask.sum((1, 2)).clamp(min=1)

    return forward


def pair_peaks(
    separation: xr.DataArray, probes: dict[tuple[str, str], dict], tolerance: int = 1
) -> pd.DataFrame:
    """Whether each probe peaks within ``tolerance`` periods of where the pair separates.

    Parameters
    ----------
    separation : xarray.DataArray
        ``(pair, time)`` how far apart the two crops' simulated canopies are
        (:func:`cropkit.demo.canopy_separation`), coordinates ``a`` and ``b`` per pair.
    probes : dict
        ``(model, probe)`` -> ``{(a, b): (time,) profile}`` (:func:`attention_contrast`,
        :func:`pair_gradients`); pairs a probe lacks are skipped.
    tolerance : int
        How many periods from the truth's best still count as a hit.

    Returns
    -------
    pandas.DataFrame
        One row per model, probe and pair: ``a``, ``b``, ``best`` (the truth's most
        separating period), ``peak`` (the probe's), ``distance`` (periods), ``hit`` and
        ``chance`` (the share of periods within ``tolerance`` of the best: a probe
        peaking at random hits that often).
    """
    labels = _date_labels(separation)
    steps = separation.sizes["time"]
    rows = []
    for i in range(separation.sizes["pair"]):
        sep = separation.isel(pair=i)
        pair = (str(sep["a"].values), str(sep["b"].values))
        best = int(np.argmax(sep.values))
        chance = (min(best + tolerance, steps - 1) - max(best - tolerance, 0) + 1) / steps
        for (model, probe), profiles in probes.items():
            profile = profiles.get(pair)
            if profile is None:
                continue
            values = np.asarray(profile, dtype=float)
            if not np.isfinite(values).any():
                continue
            peak = int(np.nanargmax(values))
            rows.append(
                {
                    "model": model,
                    "probe": probe,
                    "a": pair[0],
                    "b": pair[1],
                    "best": labels[best],
                    "peak": labels[peak],
                    "distance": abs(peak - best),
                    "hit": abs(peak - best) <= tolerance,
                    "chance": chance,
                }
            )
    return pd.DataFrame(rows)


def pair_hit_rates(peaks: pd.DataFrame) -> pd.DataFrame:
    """Per model and probe: pairs scored, hits, hit rate and the rate chance would give."""
    if peaks.empty:
        return pd.DataFrame(columns=["pairs", "hits", "hit_rate", "chance"])
    grouped = peaks.groupby(["model", "probe"], sort=False)
    return pd.DataFrame(
        {
            "pairs": grouped.size(),
            "hits": grouped["hit"].sum().astype(int),
            "hit_rate": grouped["hit"].mean(),
            "chance": grouped["chance"].mean(),
        }
    )
