"""What the deep models attend to, as labelled arrays, summarised per class and date.

Every attention-capable network (``ltae``, ``utae``, ``attention3dcnn``,
``dual_stream``; :func:`attention_models`) returns its attention weights beside its
logits. :func:`extract_attention` runs a trained model over the test samples of a
saved dataset, batch by batch, and labels what comes back:

- ``temporal`` ``(sample, head, time)`` weights over the Sentinel-2 dates (sum to one
  over ``time``; patch models' low-resolution maps are brought to every pixel), with
  ``temporal_s1`` ``(sample, head, time_s1)`` for a radar branch;
- ``channel`` ``(sample, band)`` the gate of every Sentinel-2 band and Sentinel-1
  polarisation (``attention3dcnn``; bands named ``s2:B04``, ``s1:VV``, ...);
- ``spectral`` ``(sample, group)`` weights over EnMAP band groups (``dual_stream``);
- ``spatial`` ``(patch, h, w)`` the spatial gate over each test patch, with the zone
  grid's ``y``/``x`` of every cell.

Samples are the labelled test pixels, with their class, parcel, grid position and
which dates were observed (the gap-filling provenance flags), so every summary below is
a groupby: per class (:func:`class_profiles`), observed against interpolated dates
(:func:`attention_on_observed`). The weights are the network's own softmax outputs
(no fused attention kernel hides them: cropkit's attention layers compute the softmax
explicitly, and ``nn.MultiheadAttention`` is called with ``need_weights=True``).

Gradients, for every deep model, and the scoring of both against the demo's truth are
in :mod:`cropkit.analysis.attribution`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..compute import indices
from ..compute.splits import TEST
from ..core.errors import ConfigError, DataError
from ..core.paths import data_file
from ..datasets import class_names, select_split
from ..models import model_names, network_class

__all__ = [
    "attention_models",
    "check_attention_model",
    "extract_attention",
    "class_profiles",
    "ndvi_by_class",
    "key_stages",
    "channel_by_class",
    "spectral_by_class",
    "attention_on_observed",
    "frequent_classes",
    "missing_attention",
    "busiest_patch",
    "channels_under_cloud",
]


#: Typical crop stages of ``data/crops.csv`` (day-of-year columns), in season order.
STAGES = {
    "sowing": "sow_doy",
    "green-up": "green_up_doy",
    "flowering": "flower_start",
    "senescence": "senescence_doy",
    "harvest": "harvest_doy",
}


def attention_models() -> list[str]:
    """Registered models whose network returns attention weights."""
    return [n for n in model_names() if getattr(_network(n), "attention_names", ())]


def missing_attention(attention: dict[str, xr.Dataset], kind: str) -> str | None:
    """One line for a section that no model of the run can fill, naming those that would.

    Parameters
    ----------
    attention : dict
        Model name -> labelled attention (:func:`extract_attention`).
    kind : str
        ``"channel"``, ``"spatial"`` or ``"temporal"``.

    Returns
    -------
    str or None
        None when a model has that attention.
    """
    if any(kind in att for att in attention.values()):
        return None
    givers = [n for n in model_names() if kind in getattr(_network(n), "attention_names", ())]
    needs = ""
    if kind == "spectral":  # the EnMAP stream's attention: only with EnMAP in the inputs
        needs = ' with EnMAP in its inputs (inputs=["s2", "enmap"])'
    return (
        f"No model of this run has {kind} attention, so this section is empty: add "
        f'{" or ".join(givers)} to notebook 04\'s models (e.g. models=["xgboost", '
        f'"{givers[0]}"]){needs} to see it.'
    )


def frequent_classes(attention: xr.Dataset, n: int = 8) -> list[str]:
    """The ``n`` reference classes with the most samples, most first."""
    return list(pd.Series(attention["tier4"].values).value_counts().index[:n])


def busiest_patch(attention: xr.Dataset, patches: xr.Dataset) -> int:
    """Position in ``attention["spatial"]`` of the patch with the most parcels in it.

    Ties go to the patch with more labelled pixels: the one that shows most borders.
    """
    parcel, labelled = patches["parcel"].values, patches["tier4"].values >= 0
    score = {
        corner: (np.unique(parcel[k][labelled[k]]).size, int(labelled[k].sum()))
        for k, corner in enumerate(
            zip(patches["row0"].values.tolist(), patches["col0"].values.tolist())
        )
    }
    corners = zip(attention["row0"].values.tolist(), attention["col0"].values.tolist())
    ranked = [score.get(c, (0, 0)) for c in corners]
    return max(range(len(ranked)), key=ranked.__getitem__)


def _network(name: str):
    try:
        return network_class(name)
    except ConfigError:  # not a deep network (the XGBoost baseline)
        return None


def check_attention_model(model) -> None:
    """Raise :class:`~cropkit.core.errors.ConfigError` unless ``model`` returns attention."""
    name = model.name
    if name not in attention_models():
        raise ConfigError(
            f"{name} has no attention to show; the models with attention are "
            f"{attention_models()}. Integrated Gradients (integrated_gradients) work for "
            "every deep model."
        )


def _time_coords(ds: xr.Dataset, dim: str) -> dict:
    coords = {dim: ds[dim].values} if dim in ds.coords else {}
    doy = "doy" if dim == "time" else f"{dim.split('_')[-1]}_doy"
    if doy in ds.coords:
        coords[doy] = (dim, ds[doy].values)
    return coords


def extract_attention(
    model,
    ds: xr.Dataset,
    split: int | None = TEST,
    batch_size: int | None = None,
    max_samples: int | None = None,
    device: str = "auto",
) -> xr.Dataset:
    """The model's attention on the samples of one split, labelled.

    Parameters
    ----------
    model : cropkit.trainer.DeepClassifier
        A trained attention-capable model (see :func:`attention_models`).
    ds : xarray.Dataset
        The pixel or patch dataset it was trained on (notebook 04's
        ``datasets/pixels.zarr`` or ``patches.zarr``).
    split : int or None
        Split code to read (:data:`cropkit.compute.splits.TEST`); None for every sample.
    batch_size : int, optional
        Samples (patches) per forward pass.
    max_samples : int, optional
        Keep at most this many samples (pixel models) or patches, evenly spaced.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    xarray.Dataset
        Variables as in the module notes; coordinates ``row``, ``col``, ``parcel``,
        ``tier4`` (reference class name) and ``predicted`` (tier-4 class name) per
        ``sample``, ``observed`` ``(sample, time)``; attributes ``model``, ``kind``.

    Raises
    ------
    ConfigError
        If the model returns no attention.
    DataError
        If the split holds no sample.
    """
    check_attention_model(model)
    part = select_split(ds, split) if split is not None else ds
    first = "patch" if model.kind == "patch" else "sample"
    if part.sizes.get(first, 0) == 0:
        raise DataError(f"The dataset has no {first} in split {split}: nothing to read.")
    if max_samples and part.sizes[first] > max_samples:
        keep = np.linspace(0, part.sizes[first] - 1, int(max_samples)).round().astype(int)
        part = part.isel({first: np.unique(keep)})
    names = np.asarray(class_names(part, "tier4"))
    parts: dict[str, list] = {}
    for index, proba, attention in model.predict_batches(part, batch_size, True, device):
        chunk = part.isel({first: index.numpy()})
        picked = _labelled(chunk) if model.kind == "patch" else None
        _collect(parts, "predicted", _per_pixel(proba.argmax(1, keepdim=True), picked)[:, 0])
        for key, value in attention.items():
            if key == "spatial":
                _collect(parts, key, value)
            else:
                _collect(parts, key, _per_pixel(value, picked))
        for var in ("tier4", "parcel", "row", "col", "valid"):
            _collect(parts, var, _sample_values(chunk, var, picked))
    got = {k: np.concatenate(v) for k, v in parts.items()}
    return _labelled_attention(got, part, model, names)


def _labelled(chunk: xr.Dataset) -> tuple[np.ndarray, ...]:
    """``(patch, h, w)`` indices of the labelled pixels of a patch batch, and the side."""
    return (*np.nonzero(chunk["tier4"].values >= 0), chunk.sizes["h"])


def _per_pixel(value: torch.Tensor, picked) -> np.ndarray:
    """Per-sample values of a batch; a patch model's maps read at each labelled pixel.

    ``value`` is ``(B, ...)``. For patch models (``picked`` the labelled pixels'
    ``(patch, h, w)`` indices) a value of one vector per patch is shared by its pixels,
    and maps ``(B, ..., h', w')`` at a coarser resolution than the patch are read at
    the cell that holds each pixel (nearest).
    """
    array = value.float().numpy()
    if picked is None:
        return array
    p, h, w, side = picked
    if array.ndim <= 2:
        return array[p]
    return array[p, ..., h * array.shape[-2] // side, w * array.shape[-1] // side]


def _collect(parts: dict, key: str, value: np.ndarray) -> None:
    parts.setdefault(key, []).append(np.asarray(value))


def _sample_values(chunk: xr.Dataset, var: str, picked) -> np.ndarray:
    if picked is None:
        return chunk[var].values
    p, h, w, _ = picked
    if var == "row":
        return chunk["row0"].values[p] + h
    if var == "col":
        return chunk["col0"].values[p] + w
    if var == "valid":
        return chunk["valid"].values[p, :, h, w]
    return chunk[var].values[p, h, w]


def _s1_time_coords(part: xr.Dataset) -> dict:
    """Dates of the Sentinel-1 series: its own ``time_s1`` dim, or Sentinel-2's dates."""
    if "time_s1" in part.dims:
        return _time_coords(part, "time_s1")
    same = _time_coords(part, "time")
    return {"time_s1": same.get("time", np.arange(part.sizes["time"]))}


def _labelled_attention(got: dict, part: xr.Dataset, model, names: np.ndarray) -> xr.Dataset:
    spec = model.spec
    coords = {
        "row": ("sample", got.pop("row").astype(np.int32)),
        "col": ("sample", got.pop("col").astype(np.int32)),
        "parcel": ("sample", got.pop("parcel").astype(np.int64)),
        "tier4": ("sample", names[got.pop("tier4").astype(int)]),
        "predicted": ("sample", names[got.pop("predicted").astype(int)]),
        **_time_coords(part, "time"),
    }
    data = {"observed": (("sample", "time"), got.pop("valid").astype(bool))}
    for key, value in got.items():
        if key in ("temporal", "temporal_s1"):
            time = "time" if key == "temporal" else "time_s1"
            data[key] = (("sample", "head", time), value)
            if time != "time":
                coords.update(_s1_time_coords(part))
        elif key == "channel":
            channel = [
                f"{s}:{n}" for s in spec.inputs if s != "enmap" for n in spec.channel_names[s]
            ]
            data["channel"] = (("sample", "band"), value)
            coords["band"] = channel[: value.shape[1]]
        elif key == "spectral":
            data[key] = (("sample", "group"), value)
            encoder = getattr(getattr(model.module, "network", None), "enmap", None)
            if getattr(encoder, "group_names", None) is not None:
                coords["group"] = list(encoder.group_names)
        elif key == "spatial":
            data[key] = (("patch", "h", "w"), value)
    out = xr.Dataset(data, coords=coords)
    if "spatial" in out and "row0" in part.coords:
        out = out.assign_coords(
            row0=("patch", part["row0"].values), col0=("patch", part["col0"].values)
        )
    if "head" in out.dims:
        out = out.assign_coords(head=np.arange(out.sizes["head"]))
    out.attrs.update(model=model.name, kind=model.kind, classes=[str(n) for n in names])
    return out


# --- summaries ------------------------------------------------------------------------


def class_profiles(attention: xr.Dataset, var: str = "temporal", by: str = "tier4") -> xr.DataArray:
    """Mean attention per class: ``(class, head, time)`` for ``temporal``, etc.

    Parameters
    ----------
    attention : xarray.Dataset
        From :func:`extract_attention`.
    var : str
        ``"temporal"``, ``"temporal_s1"``, ``"channel"`` or ``"spectral"``.
    by : str
        ``"tier4"`` (reference class) or ``"predicted"``.
    """
    if var not in attention:
        raise ConfigError(
            f"The {attention.attrs.get('model')} model returns no {var!r} attention; it has "
            f"{[v for v in attention.data_vars if v != 'observed']}."
        )
    return attention[var].groupby(attention[by].rename("class")).mean("sample")


def ndvi_by_class(ds: xr.Dataset, split: int | None = TEST) -> xr.DataArray:
    """NDVI per class and date: quartiles over the class's pixels of one split.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset (``s2`` ``(sample, time, band)``) or patch dataset.
    split : int or None
        Split code (:data:`cropkit.compute.splits.TEST`), None for all.

    Returns
    -------
    xarray.DataArray
        ``(class, quantile, time)`` with quantiles 0.25, 0.5 and 0.75.
    """
    part = select_split(ds, split) if split is not None else ds
    red, nir = _band(part, ("B04", "red")), _band(part, ("B08", "nir"))
    names = np.asarray(class_names(part, "tier4"))
    if "patch" in part.dims:
        p, h, w = np.nonzero(part["tier4"].values >= 0)
        s2 = part["s2"].values  # (patch, time, band, h, w)
        r, n = s2[p, :, red, h, w], s2[p, :, nir, h, w]
        label = names[part["tier4"].values[p, h, w]]
    else:
        r = part["s2"].isel(band=red).values  # loads only these two bands
        n = part["s2"].isel(band=nir).values
        label = names[part["tier4"].values]
    ndvi = indices.ndvi(r, n)  # (sample, time)
    classes = sorted(set(label))
    quartiles = [0.25, 0.5, 0.75]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a date with no value in a class
        values = np.stack([np.nanquantile(ndvi[label == c], quartiles, axis=0) for c in classes])
    return xr.DataArray(
        values,
        dims=("class", "quantile", "time"),
        coords={"class": classes, "quantile": quartiles, **_time_coords(part, "time")},
        name="ndvi",
    )


def _band(ds: xr.Dataset, names: tuple[str, ...]) -> int:
    bands = [str(b) for b in ds["band"].values]
    for name in names:
        if name in bands:
            return bands.index(name)
    raise DataError(f"The dataset has no {' or '.join(names)} band (it has {bands}).")


def key_stages(classes) -> pd.DataFrame:
    """Typical day of year of each crop's stages (French calendars, ``data/crops.csv``).

    Returns
    -------
    pandas.DataFrame
        Index the classes found in the table; columns ``sowing``, ``green-up``,
        ``flowering``, ``senescence``, ``harvest`` (NaN where a crop has no such stage).
    """
    table = pd.read_csv(data_file("crops.csv")).set_index("tier4")
    known = [c for c in classes if c in table.index]
    return table.loc[known, list(STAGES.values())].rename(columns={v: k for k, v in STAGES.items()})


def channel_by_class(attention: xr.Dataset) -> pd.DataFrame:
    """Mean channel gate per class (rows) and band or polarisation (columns)."""
    return class_profiles(attention, "channel").to_pandas()


def spectral_by_class(attention: xr.Dataset) -> pd.DataFrame:
    """Mean attention over the EnMAP spectral tokens per class (rows) and region (columns).

    ``dual_stream``'s pooling query over regions of the spectrum (red edge, SWIR, ...),
    read on the pixels of each reference class; rows sum to 1.
    """
    return class_profiles(attention, "spectral").to_pandas()


def attention_on_observed(attention: xr.Dataset, by: str = "tier4") -> pd.DataFrame:
    """Temporal attention on observed against interpolated dates, per class.

    A weight is read relative to a uniform share (1 / dates): 1 means the date gets
    its fair share, 2 twice that. Dates whose Sentinel-2 value was interpolated or
    filled (cloudy all period) are compared with dates that were observed.

    Returns
    -------
    pandas.DataFrame
        Index the classes; ``observed`` and ``interpolated`` (mean relative weight),
        ``interpolated_share`` (share of the class's dates that were interpolated).
    """
    weights = attention["temporal"].mean("head") * attention.sizes["time"]
    observed = attention["observed"]
    frame = pd.DataFrame(
        {
            "class": np.repeat(attention[by].values, attention.sizes["time"]),
            "weight": weights.values.ravel(),
            "observed": observed.values.ravel(),
        }
    )
    table = frame.pivot_table(index="class", columns="observed", values="weight", aggfunc="mean")
    table = table.rename(columns={True: "observed", False: "interpolated"})
    table.columns.name = None
    table["interpolated_share"] = frame.groupby("class")["observed"].agg(lambda s: 1 - s.mean())
    return table.reindex(columns=["observed", "interpolated", "interpolated_share"])


def channels_under_cloud(attention: xr.Dataset, bins=(-0.01, 0.05, 0.15, 0.3, 1.0)) -> pd.DataFrame:
    """Mean channel gate by how much of each pixel's Sentinel-2 series was gap-filled.

    Parameters
    ----------
    attention : xarray.Dataset
        From :func:`extract_attention` with ``channel``.
    bins : sequence
        Edges of the interpolated-date share (right-closed).

    Returns
    -------
    pandas.DataFrame
        Index the bins; one column per channel (``s2:B04``, ``s1:VV``, ...), ``pixels``,
        and ``s1_share`` (the radar channels' part of the summed gates) when the model
        reads Sentinel-1: a model that leans on radar under cloud raises it in the
        cloudier bins.
    """
    gate = attention["channel"].to_pandas()
    cloudy = 1 - attention["observed"].values.mean(axis=1)
    groups = gate.groupby(pd.cut(cloudy, list(bins)), observed=False)
    table = groups.mean()
    radar = [c for c in gate.columns if c.startswith("s1:")]
    if radar:
        table["s1_share"] = groups.apply(lambda g: g[radar].sum(axis=1).sum() / g.sum().sum())
    table.insert(0, "pixels", groups.size())
    table.index = table.index.astype(str)
    table.index.name = "interpolated share"
    return table
