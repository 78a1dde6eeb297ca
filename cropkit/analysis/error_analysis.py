"""Where a crop map errs and what its errors go with.

Per test pixel: right, wrong within the crop family (tier 2) or wrong family
(:func:`error_kinds`), on the grid (:func:`to_grid`) for an error map; how many coarser
tiers a hierarchical model's heads answer differently from the roll-up of tier 4
(:func:`tier_disagreement`); and what may explain an error (:func:`pixel_factors`):
clear observations and interpolated dates from the gap-filling provenance flags,
parcel size, distance to the parcel's edge; on the demo, false declarations and
stressed parcels (:func:`truth_flags`). :func:`accuracy_by` and
:func:`explained_errors` turn them into tables. Pure compute on arrays and frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from ..core.taxonomy import TIERS
from .confusion import _require

__all__ = [
    "ERROR_KINDS",
    "FACTOR_BINS",
    "error_kinds",
    "to_grid",
    "test_window",
    "border_distance",
    "tier_disagreement",
    "no_hierarchical_model",
    "pixel_factors",
    "truth_flags",
    "accuracy_by",
    "explained_errors",
]


#: Bins of :func:`pixel_factors`' columns for :func:`accuracy_by`.
FACTOR_BINS = {
    "clear_observations": [-0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 366],
    "interpolated_share": [-0.01, 0.1, 0.25, 0.5, 1.0],
    "parcel_ha": [0, 1, 2, 5, 10, np.inf],
    "border_px": [0, 1, 2, 3, 5, np.inf],
}


#: Codes of :func:`error_kinds` (and of the error map), in order.
ERROR_KINDS = ("correct", "wrong, same family", "wrong family")


def error_kinds(frame: pd.DataFrame) -> np.ndarray:
    """0 right, 1 wrong within the same tier-2 family, 2 wrong family, per pixel."""
    _require(frame, ["true_tier4", "pred_tier4", "true_tier2", "pred_tier2"])
    right = frame["true_tier4"].to_numpy() == frame["pred_tier4"].to_numpy()
    family = frame["true_tier2"].to_numpy() == frame["pred_tier2"].to_numpy()
    return np.where(right, 0, np.where(family, 1, 2)).astype(np.uint8)


def to_grid(values, rows, cols, shape: tuple[int, int], fill=np.nan) -> np.ndarray:
    """Place ``(sample,)`` values at ``(rows, cols)`` of a ``shape`` grid."""
    values = np.asarray(values)
    dtype = np.result_type(values.dtype, fill)  # a Python scalar fill keeps uint8 as uint8
    out = np.full(shape, fill, dtype=dtype)
    out[np.asarray(rows), np.asarray(cols)] = values
    return out


def border_distance(parcel: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the nearest pixel of another parcel (pixels).

    Parameters
    ----------
    parcel : numpy.ndarray
        ``(y, x)`` parcel ids, 0 outside parcels.

    Returns
    -------
    numpy.ndarray
        ``(y, x)`` float32: 1 on a parcel's edge pixels, else one more than the
        Euclidean distance (pixels) to the nearest edge pixel; 0 outside parcels.
    """
    parcel = np.asarray(parcel)
    edge = np.zeros(parcel.shape, dtype=bool)
    edge[1:] |= parcel[1:] != parcel[:-1]
    edge[:-1] |= parcel[:-1] != parcel[1:]
    edge[:, 1:] |= parcel[:, 1:] != parcel[:, :-1]
    edge[:, :-1] |= parcel[:, :-1] != parcel[:, 1:]
    edge |= parcel == 0
    return np.where(parcel > 0, ndimage.distance_transform_edt(~edge) + 1, 0).astype(np.float32)


def accuracy_by(values, correct, bins, label: str) -> pd.DataFrame:
    """Share of correct pixels per bin of a pixel property.

    Parameters
    ----------
    values : array-like
        ``(sample,)`` the property (clear observations, parcel size, ...).
    correct : array-like of bool
        ``(sample,)`` whether the pixel was classified right.
    bins : sequence
        Bin edges (see :func:`pandas.cut`; right-closed).
    label : str
        Name of the property, used as the index name.

    Returns
    -------
    pandas.DataFrame
        Index the bins; ``pixels``, ``accuracy`` and ``share_of_errors``.
    """
    frame = pd.DataFrame({"bin": pd.cut(np.asarray(values), bins), "ok": np.asarray(correct)})
    groups = frame.groupby("bin", observed=False)["ok"]
    errors = (~frame["ok"]).sum()
    out = pd.DataFrame(
        {
            "pixels": groups.size(),
            "accuracy": groups.mean(),
            "share_of_errors": groups.agg(lambda s: (~s).sum()) / max(int(errors), 1),
        }
    )
    out.index = out.index.astype(str)
    out.index.name = label
    return out


def explained_errors(correct, flags: pd.DataFrame) -> pd.DataFrame:
    """How much of the error pixels carrying a known flag explain.

    Parameters
    ----------
    correct : array-like of bool
        ``(sample,)`` whether each pixel was classified right.
    flags : pandas.DataFrame
        ``(sample,)`` boolean columns, e.g. ``false_declaration`` and ``stressed``.

    Returns
    -------
    pandas.DataFrame
        One row per flag and one for pixels with none: ``pixels``, ``share_of_pixels``,
        ``accuracy``, ``share_of_errors`` (of all wrong pixels, those with the flag).
    """
    ok = np.asarray(correct, dtype=bool)
    wrong = max(int((~ok).sum()), 1)
    masks = {name: flags[name].to_numpy(dtype=bool) for name in flags.columns}
    masks["none of these"] = ~np.logical_or.reduce([*masks.values(), np.zeros_like(ok)])
    rows = {}
    for name, mask in masks.items():
        rows[name] = {
            "pixels": int(mask.sum()),
            "share_of_pixels": float(mask.mean()),
            "accuracy": float(ok[mask].mean()) if mask.any() else np.nan,
            "share_of_errors": float((~ok & mask).sum() / wrong),
        }
    return pd.DataFrame(rows).T.astype({"pixels": int})


def no_hierarchical_model(hierarchical: dict[str, bool]) -> str | None:
    """One line when no model of the run has a head per tier, naming the one that does.

    Parameters
    ----------
    hierarchical : dict
        Model name -> whether it answers every tier with a head of its own.

    Returns
    -------
    str or None
        None when a model of the run is hierarchical.
    """
    if any(hierarchical.values()):
        return None
    from ..models import NETWORKS, network_class

    heads = [n for n in NETWORKS if network_class(n).hierarchical]
    return (
        "No model of this run answers every tier with its own head, so there is no "
        f"disagreement to map: add {' or '.join(heads)} to notebook 04's models to see it."
    )


def tier_disagreement(crop_map, parents: dict) -> np.ndarray:
    """Per pixel, how many coarser tiers a hierarchical model's heads answer differently.

    Parameters
    ----------
    crop_map : xarray.Dataset
        From :func:`cropkit.experiments.inference.predict_zone`: ``head_tier1`` ...
        ``head_tier4`` (each head's own answer; its ``class_<tier>`` are decoded jointly
        and always nest), or ``class_tier1`` ... where a map has no heads.
    parents : dict
        Tier -> ``(n_tier4,)`` parent index of every tier-4 class (``model.spec.parents``).

    Returns
    -------
    numpy.ndarray
        ``(y, x)`` 0-3 (float32).
    """
    kind = "head" if "head_tier4" in crop_map else "class"
    tier4 = crop_map[f"{kind}_tier4"].values.astype(int)
    out = np.zeros(tier4.shape, dtype=np.float32)
    for tier in (t for t in TIERS if t != "tier4"):
        rolled = np.asarray(parents[tier])[tier4]
        out += crop_map[f"{kind}_{tier}"].values != rolled
    return out


def pixel_factors(frame: pd.DataFrame, pixels) -> pd.DataFrame:
    """What each test pixel's error may go with, from the pixel dataset.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions (``row``, ``col``, ``parcel``, ``true_tier4``, ``pred_tier4``).
    pixels : xarray.Dataset
        Notebook 04's pixel dataset (every labelled pixel of the study area, with the
        ``valid`` provenance flags and the ``shape`` of the grid).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``frame``: ``correct``, ``clear_observations`` (observed dates),
        ``interpolated_share`` (share of dates the gap filling made), ``parcel_ha``
        (labelled area of the pixel's parcel) and ``border_px`` (distance to the
        labelled parcel's edge, :func:`border_distance`).
    """
    shape = tuple(pixels.attrs["shape"])
    rows, cols = pixels["row"].values, pixels["col"].values
    valid = pixels["valid"].values
    clear = to_grid(valid.sum(axis=1), rows, cols, shape, -1)
    interpolated = to_grid(1 - valid.mean(axis=1), rows, cols, shape)
    parcel = to_grid(pixels["parcel"].values, rows, cols, shape, 0)
    sizes = np.bincount(parcel.ravel()) * 0.01  # 10 m pixels: 0.01 ha
    r, c = frame["row"].to_numpy(), frame["col"].to_numpy()
    return pd.DataFrame(
        {
            "correct": frame["true_tier4"].to_numpy() == frame["pred_tier4"].to_numpy(),
            "clear_observations": clear[r, c],
            "interpolated_share": interpolated[r, c],
            "parcel_ha": sizes[parcel[r, c]],
            "border_px": border_distance(parcel)[r, c],
        },
        index=frame.index,
    )


def truth_flags(frame: pd.DataFrame, parcel_ids, truth: pd.DataFrame) -> pd.DataFrame:
    """Per test pixel, what the demo knows of its parcel.

    Parameters
    ----------
    frame : pandas.DataFrame
        Test predictions with ``parcel`` (the label raster's parcel number: row of the
        checked parcels + 1).
    parcel_ids : array-like
        ``ID_PARCEL`` of the checked parcels, in their order.
    truth : pandas.DataFrame
        :meth:`cropkit.demo.DemoData.truth`.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``frame``: boolean ``false_declaration`` and ``stressed``.
    """
    ids = np.asarray(parcel_ids)[frame["parcel"].to_numpy() - 1]
    known = truth.set_index("ID_PARCEL").reindex(ids)
    return pd.DataFrame(
        {
            "false_declaration": known["false_declaration"].fillna(False).to_numpy(dtype=bool),
            "stressed": known["stressed"].fillna(False).to_numpy(dtype=bool),
        },
        index=frame.index,
    )


def test_window(frame: pd.DataFrame, margin: int = 2) -> tuple[slice, slice]:
    """Rows and columns of the grid that hold the test pixels (plus a margin)."""
    r, c = frame["row"].to_numpy(), frame["col"].to_numpy()
    return (
        slice(max(int(r.min()) - margin, 0), int(r.max()) + margin + 1),
        slice(max(int(c.min()) - margin, 0), int(c.max()) + margin + 1),
    )
