"""Plots of what the models attend to (notebook 05): phenology, channels, patches.

They take the labelled results of :mod:`cropkit.analysis.attention` and draw with matplotlib
(static figures that render in any saved notebook, no JavaScript needed).
"""

from __future__ import annotations

import numpy as np

from ..compute import indices

_STAGE_COLORS = {
    "sowing": "#8c564b",
    "green-up": "#2ca02c",
    "flowering": "#e6ac00",
    "senescence": "#d62728",
    "harvest": "#7f7f7f",
}


def _time_axis(da):
    values = da["time"].values if "time" in da.coords else None
    if values is not None and np.issubdtype(values.dtype, np.datetime64):
        return np.asarray(
            [v.astype("datetime64[D]").astype(object).timetuple().tm_yday for v in values]
        )
    return da["doy"].values if "doy" in da.coords else np.arange(da.sizes["time"])


def attention_on_phenology(profiles, ndvi, stages, classes=None, cols: int = 4):
    """Per class: temporal attention (per head and mean) above the class's NDVI curve.

    Parameters
    ----------
    profiles : xarray.DataArray
        ``(class, head, time)`` mean attention per class
        (:func:`cropkit.analysis.attention.class_profiles`).
    ndvi : xarray.DataArray
        ``(class, quantile, time)`` NDVI quartiles
        (:func:`cropkit.analysis.attention.ndvi_by_class`).
    stages : pandas.DataFrame
        Day of year of each crop's stages (:func:`cropkit.analysis.attention.key_stages`).
    classes : list of str, optional
        Classes to draw (by default every class with attention).
    cols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Two rows of axes per row of classes: attention on top (thin lines: heads,
        thick: mean over heads; dashed: a uniform weight), NDVI below (median and
        interquartile band), stage dates as vertical lines on both.
    """
    import matplotlib.pyplot as plt

    classes = list(classes or profiles["class"].values)
    rows = -(-len(classes) // cols)
    fig, axes = plt.subplots(
        2 * rows, cols, figsize=(3.2 * cols, 4.2 * rows), sharex=True, squeeze=False
    )
    doy = _time_axis(profiles)
    uniform = 1.0 / profiles.sizes["time"]
    for k, name in enumerate(classes):
        top, bottom = axes[2 * (k // cols), k % cols], axes[2 * (k // cols) + 1, k % cols]
        weights = profiles.sel({"class": name})
        for head in weights["head"].values:
            top.plot(doy, weights.sel(head=head), color="#9ecae1", lw=0.7)
        top.plot(doy, weights.mean("head"), color="#08519c", lw=2.2, label="mean of heads")
        top.axhline(uniform, color="k", ls="--", lw=0.8)
        top.set_title(name, fontsize=9)
        if name in ndvi["class"].values:
            curve = ndvi.sel({"class": name})
            bottom.fill_between(
                _time_axis(curve),
                curve.sel(quantile=0.25),
                curve.sel(quantile=0.75),
                color="#a1d99b",
            )
            bottom.plot(_time_axis(curve), curve.sel(quantile=0.5), color="#006d2c", lw=1.8)
        bottom.set_ylim(-0.2, 1.0)
        if name in stages.index:
            for stage, day in stages.loc[name].items():
                if np.isfinite(day):
                    for ax in (top, bottom):
                        ax.axvline(day % 366, color=_STAGE_COLORS[stage], lw=1, alpha=0.8)
        if k % cols == 0:
            top.set_ylabel("attention")
            bottom.set_ylabel("NDVI")
        bottom.set_xlabel("day of year")
    for k in range(len(classes), rows * cols):
        axes[2 * (k // cols), k % cols].axis("off")
        axes[2 * (k // cols) + 1, k % cols].axis("off")
    handles = [plt.Line2D([], [], color=c, label=s) for s, c in _STAGE_COLORS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def channel_weights(table, title: str = "channel attention per class", label: str = "gate (0-1)"):
    """Heatmap of the mean channel gate per class (rows) and band/polarisation (columns).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`cropkit.analysis.attention.channel_by_class` (or
        :func:`~cropkit.analysis.attention.spectral_by_class`: regions of the spectrum).
    title : str
        Axes title.
    label : str
        Colour bar label.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(0.55 * table.shape[1] + 3, 0.35 * table.shape[0] + 1.5))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(table.shape[1]), table.columns, rotation=60, ha="right")
    ax.set_yticks(np.arange(table.shape[0]), table.index)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=label)
    fig.tight_layout()
    return ax


def spatial_on_patch(spatial, patches, patch: int, time: int | None = None, gain: float = 3.5):
    """A test patch: RGB composite with parcel outlines, beside its spatial attention.

    Parameters
    ----------
    spatial : xarray.DataArray
        ``(patch, h, w)`` spatial gate (``extract_attention(...)["spatial"]``).
    patches : xarray.Dataset
        The same patches (``s2`` ``(patch, time, band, h, w)``, ``parcel``).
    patch : int
        Position of the patch in ``spatial``; found in ``patches`` by its
        ``row0``/``col0``.
    time : int, optional
        Date of the RGB (default: the one with the greenest median NDVI).
    gain : float
        Brightness of the RGB.

    Returns
    -------
    numpy.ndarray
        The two matplotlib axes.
    """
    import matplotlib.pyplot as plt

    gate = spatial.isel(patch=patch)
    where = (patches["row0"].values == int(gate["row0"])) & (
        patches["col0"].values == int(gate["col0"])
    )
    one = patches.isel(patch=int(np.flatnonzero(where)[0]))
    bands = [str(b) for b in one["band"].values]
    red, green, blue, nir = (bands.index(b) for b in ("B04", "B03", "B02", "B08"))
    s2 = one["s2"].values  # (time, band, h, w)
    if time is None:
        ndvi = indices.ndvi(s2[:, red], s2[:, nir])
        time = int(np.nanargmax(np.nanmedian(ndvi.reshape(len(ndvi), -1), axis=1)))
    image = np.clip(
        np.nan_to_num(np.stack([s2[time, b] for b in (red, green, blue)], -1)) * gain, 0, 1
    )
    parcel = one["parcel"].values
    edges = (np.diff(parcel, axis=0, prepend=parcel[:1]) != 0) | (
        np.diff(parcel, axis=1, prepend=parcel[:, :1]) != 0
    )
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    axes[0].imshow(image)
    axes[0].imshow(np.ma.masked_where(~edges, edges), cmap="autumn", interpolation="nearest")
    when = one["time"].values[time] if "time" in one.coords else time + 1
    when = np.datetime_as_string(when, unit="D") if isinstance(when, np.datetime64) else when
    axes[0].set_title(f"RGB {when}, parcel outlines")
    shown = axes[1].imshow(gate.values, cmap="magma")
    axes[1].contour(edges, levels=[0.5], colors="white", linewidths=0.5)
    axes[1].set_title("spatial attention")
    fig.colorbar(shown, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return axes


def attention_and_gradients(attention, gradients, classes=None, cols: int = 4):
    """Per class, the temporal attention beside the Integrated-Gradients share per date.

    Parameters
    ----------
    attention, gradients : xarray.DataArray
        ``(class, time)`` profiles summing to one over dates.
    classes : list of str, optional
        Classes to draw (by default those in both).
    cols : int
        Panels per row.
    """
    import matplotlib.pyplot as plt

    classes = [c for c in (classes or attention["class"].values) if c in gradients["class"].values]
    rows = -(-len(classes) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for k, name in enumerate(classes):
        ax = axes[k // cols, k % cols]
        ax.plot(_time_axis(attention), attention.sel({"class": name}), label="attention", lw=2)
        ax.plot(_time_axis(gradients), gradients.sel({"class": name}), label="gradients", lw=2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("day of the year" if k // cols == rows - 1 else "", fontsize=8)
        ax.set_ylabel("share of the weight" if k % cols == 0 else "", fontsize=8)
        ax.tick_params(labelsize=7)
    for k in range(len(classes), rows * cols):
        axes[k // cols, k % cols].axis("off")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # the shared legend above every panel
    return axes
