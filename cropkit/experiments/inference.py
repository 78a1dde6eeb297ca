"""Whole-zone inference: a crop map per tier from the composites.

Pixel models classify every pixel of the grid in batches of rows; patch models slide a
window over the grid with overlap and blend the overlapping predictions with a smooth
weight (high in the window's middle, low at its edges, where context is missing).
Coarser tiers sum the tier-4 probabilities of their children, except for hierarchical
models, whose heads answer every tier (blended the same way).

Examples
--------
>>> crop_map = predict_zone(model, composites["s2"], composites.get("s1"))   # +SKIP
>>> ck.stages.training.save_map(crop_map, run, "ltae")  # as COG and Zarr    # +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..core.errors import ConfigError
from ..core.taxonomy import TIERS
from ..datasets import grid_pixels
from ..models.hierarchy import joint_decode

if TYPE_CHECKING:
    pass

__all__ = ["predict_zone", "blend_weights", "sample_probabilities"]


def blend_weights(size: int) -> np.ndarray:
    """Window weights ``(size, size)``: a separable raised cosine, never zero."""
    ramp = np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2
    return (np.outer(ramp, ramp) + 1e-3).astype(np.float32)


def _starts(length: int, size: int, stride: int) -> list[int]:
    starts = list(range(0, max(length - size, 0) + 1, stride))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def _patch_probabilities(model, s2, s1, enmap, overlap: float, batch_size: int, device):
    """Blended probabilities per tier ``(class, y, x)`` of windows slid over the grid.

    The windows are patch datasets (:func:`cropkit.datasets.grid_patches`) read by the
    model's own predictor, as in training and testing.
    """
    from ..datasets import grid_patches

    if "enmap" in model.inputs and enmap is None:
        raise ConfigError("The model reads EnMAP: pass the EnMAP composite (enmap=...).")
    size = model.spec.patch_size
    height, width = s2.sizes["y"], s2.sizes["x"]
    if size > min(height, width):
        raise ConfigError(f"The grid ({height} x {width}) is smaller than the patch ({size}).")
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap must be in [0, 1), not {overlap!r}.")
    stride = max(int(round(size * (1 - overlap))), 1)
    corners = [(r, c) for r in _starts(height, size, stride) for c in _starts(width, size, stride)]
    s1 = s1 if "s1" in model.inputs else None
    enmap = enmap if "enmap" in model.inputs else None
    totals: dict[str, np.ndarray] = {}
    weight_sum = np.zeros((height, width), dtype=np.float32)
    weight = blend_weights(size)
    for i in range(0, len(corners), batch_size):
        chunk = corners[i : i + batch_size]
        windows = grid_patches(s2, chunk, size, s1, enmap)
        probas = model.predict_tier_proba(windows, batch_size, device)
        for tier, proba in probas.items():  # (patch, class, h, w)
            total = totals.setdefault(
                tier, np.zeros((proba.shape[1], height, width), dtype=np.float32)
            )
            for (r, c), p in zip(chunk, proba):
                total[:, r : r + size, c : c + size] += p * weight
        for r, c in chunk:
            weight_sum[r : r + size, c : c + size] += weight
    return {tier: total / weight_sum for tier, total in totals.items()}


def sample_probabilities(model, ds: xr.Dataset, split: int | None = None) -> pd.DataFrame:
    """Tier-4 probabilities of every labelled pixel of a saved dataset (one split).

    Parameters
    ----------
    model : DeepClassifier or XGBoostPixel
        A trained model and ...
    ds : xarray.Dataset
        ... the pixel or patch dataset of its kind.
    split : int, optional
        Split code (e.g. :data:`cropkit.compute.splits.TEST`); every sample by default.

    Returns
    -------
    pandas.DataFrame
        One row per labelled pixel: ``row``, ``col`` (zone grid) and one column per
        tier-4 class (``model.spec.classes["tier4"]`` order).
    """
    from ..datasets import select_split

    part = select_split(ds, split) if split is not None else ds
    if model.kind == "patch":
        proba = model.predict_proba(part)  # (patch, class, h, w)
        p, h, w = np.nonzero(part["tier4"].values >= 0)
        values = proba[p, :, h, w]
        rows, cols = part["row0"].values[p] + h, part["col0"].values[p] + w
    else:
        values = model.predict_proba(part)
        rows, cols = part["row"].values, part["col"].values
    frame = pd.DataFrame(np.asarray(values), columns=list(model.spec.classes["tier4"]))
    frame.insert(0, "col", np.asarray(cols, dtype=np.int32))
    frame.insert(0, "row", np.asarray(rows, dtype=np.int32))
    return frame


def _pixel_probabilities(model, s2, s1, enmap, rows_per_block: int):
    height, width = s2.sizes["y"], s2.sizes["x"]
    n_classes = model.spec.n_classes["tier4"]
    out = np.zeros((n_classes, height, width), dtype=np.float32)
    for start in range(0, height, rows_per_block):
        rows = slice(start, min(start + rows_per_block, height))
        block = grid_pixels(
            s2,
            s1 if "s1" in model.inputs else None,
            enmap if "enmap" in model.inputs else None,
            rows,
        )
        proba = model.predict_proba(block)  # (sample, class), row-major
        out[:, rows] = proba.T.reshape(n_classes, rows.stop - rows.start, width)
    return {"tier4": out}


def predict_zone(
    model,
    s2: xr.Dataset,
    s1: xr.Dataset | None = None,
    enmap: xr.Dataset | None = None,
    overlap: float = 0.5,
    batch_size: int = 16,
    rows_per_block: int = 64,
    device: str = "auto",
) -> xr.Dataset:
    """A crop map of the whole grid at every tier.

    Parameters
    ----------
    model : DeepClassifier or XGBoostPixel
        A trained model: a deep pixel or patch model, or the XGBoost baseline.
    s2, s1, enmap : xarray.Dataset
        The composites of notebook 03 (those the model reads).
    overlap : float
        Patch models: share of a window that overlaps the next (0.5: half).
    batch_size : int
        Patch models: windows per batch.
    rows_per_block : int
        Pixel models: grid rows classified at a time (bounds memory).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    xarray.Dataset
        For each tier, ``class_<tier>`` ``(y, x)`` int16 (class index; names in the
        ``classes`` attribute) and ``proba_<tier>`` ``(y, x)`` float32 (probability of
        that class); coordinates ``y``, ``x`` of the grid; ``crs`` attribute. A
        hierarchical model's classes are decoded jointly (the best path of the taxonomy:
        the tiers nest), and ``head_<tier>`` holds each head's own argmax (where the heads
        disagree, :func:`cropkit.analysis.error_analysis.tier_disagreement`).
    """
    from ..models.base import resolve_device

    device = resolve_device(device)
    if model.spec is None:
        raise ConfigError(f"{model!r} is not trained yet: fit it (or load a saved one) first.")
    if model.kind == "patch":
        probas = _patch_probabilities(model, s2, s1, enmap, overlap, batch_size, device)
    else:
        probas = _pixel_probabilities(model, s2, s1, enmap, rows_per_block)
    proba4 = probas["tier4"]
    coords = {"y": s2["y"].values, "x": s2["x"].values}
    data = {}
    joint = None
    if len(probas) > 1:  # hierarchical heads: the best path of the taxonomy (tiers nest)
        joint = joint_decode(probas, model.spec.parents, axis=0)
    for tier in TIERS:
        parents = np.asarray(model.spec.parents[tier])
        classes = model.spec.classes[tier]
        if tier in probas:  # the model's own answer (tier 4, or a hierarchical head)
            proba = probas[tier]
        else:  # rolled up from tier 4
            proba = np.zeros((len(classes), *proba4.shape[1:]), dtype=np.float32)
            for child, parent in enumerate(parents):
                if parent >= 0:
                    proba[parent] += proba4[child]
        attrs = {"classes": [str(c) for c in classes]}
        answer = proba.argmax(0) if joint is None else joint[tier]
        data[f"class_{tier}"] = xr.DataArray(
            answer.astype(np.int16), dims=("y", "x"), coords=coords, attrs=attrs
        )
        chosen = np.take_along_axis(proba, answer[None].astype(np.int64), 0)[0]
        data[f"proba_{tier}"] = xr.DataArray(chosen, dims=("y", "x"), coords=coords)
        if joint is not None and tier in probas:  # the head's own answer: a diagnostic
            data[f"head_{tier}"] = xr.DataArray(
                proba.argmax(0).astype(np.int16), dims=("y", "x"), coords=coords, attrs=attrs
            )
    return xr.Dataset(data, attrs={"crs": s2.attrs.get("crs"), "model": model.name})
