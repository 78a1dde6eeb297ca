"""Plots of where and why a map errs (notebook 06): intervals, error maps, factors.

They take the tables and grids of :mod:`cropkit.analysis.confusion` and draw with matplotlib.
"""

from __future__ import annotations

import numpy as np

from ..compute.indices import cube_ndvi

#: Colours of the error kinds (right, wrong within the family, wrong family).
ERROR_COLORS = ("#4daf4a", "#ff7f00", "#e41a1c")


def f1_intervals(tables, title: str = "tier-4 F1 with 95 % parcel-bootstrap intervals"):
    """Per-class F1 with its bootstrap interval, one marker series per model.

    Parameters
    ----------
    tables : mapping
        Model name -> table from :func:`cropkit.analysis.confusion.bootstrap_f1`.
    title : str
        Axes title.
    """
    import matplotlib.pyplot as plt

    classes = list(next(iter(tables.values())).index)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(classes) + 1.5))
    step = 0.8 / max(len(tables), 1)
    for k, (name, table) in enumerate(tables.items()):
        table = table.reindex(classes)
        y = np.arange(len(classes)) + (k - (len(tables) - 1) / 2) * step
        err = np.vstack([table["f1"] - table["low"], table["high"] - table["f1"]])
        ax.errorbar(table["f1"], y, xerr=np.nan_to_num(err), fmt="o", ms=4, capsize=2, label=name)
    ax.set_yticks(np.arange(len(classes)), classes)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return ax


def composite_rgb(s2, window, gain: float = 3.5):
    """RGB of a window of the Sentinel-2 composite on its greenest period.

    Parameters
    ----------
    s2 : xarray.Dataset
        Composite with ``median`` ``(period, band, y, x)``.
    window : tuple of slice
        Rows and columns (:func:`cropkit.analysis.error_analysis.test_window`).
    gain : float
        Brightness of the RGB.

    Returns
    -------
    numpy.ndarray
        ``(y, x, 3)`` in 0-1.
    """
    from .masking import rgb

    part = s2["median"].isel(y=window[0], x=window[1])
    ndvi = cube_ndvi(part).median(("y", "x")).values
    return rgb(part.isel(period=int(np.nanargmax(ndvi))), gain)


def _edges(parcel: np.ndarray) -> np.ndarray:
    return (np.diff(parcel, axis=0, prepend=parcel[:1]) != 0) | (
        np.diff(parcel, axis=1, prepend=parcel[:, :1]) != 0
    )


def _on_background(background, ax):
    """Axes (new, sized to the image, unless given) showing an RGB background."""
    import matplotlib.pyplot as plt

    if ax is None:
        height, width = background.shape[:2]
        _, ax = plt.subplots(figsize=(7, 7 * height / max(width, 1) + 0.5))
    ax.imshow(background, interpolation="nearest")
    return ax


def _titled(ax, title: str):
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def error_map(kinds, background, parcel, title: str = "errors on the test zone", ax=None):
    """Right, wrong within the crop family and wrong family, over the composite.

    Parameters
    ----------
    kinds : numpy.ndarray
        ``(y, x)`` codes 0-2 of :data:`cropkit.analysis.error_analysis.ERROR_KINDS`, 255 elsewhere.
    background : numpy.ndarray
        ``(y, x, 3)`` RGB in 0-1 (:func:`cropkit.plot.rgb`).
    parcel : numpy.ndarray
        ``(y, x)`` parcel ids (outlines drawn where they change).
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ..analysis.error_analysis import ERROR_KINDS

    ax = _on_background(background, ax)
    shown = np.ma.masked_where(kinds > 2, kinds)
    ax.imshow(shown, cmap=ListedColormap(ERROR_COLORS), vmin=-0.5, vmax=2.5, alpha=0.75)
    ax.contour(_edges(parcel), levels=[0.5], colors="black", linewidths=0.3)
    ax.legend(
        handles=[Patch(color=c, label=k) for c, k in zip(ERROR_COLORS, ERROR_KINDS)],
        loc="upper right",
        fontsize=8,
    )
    return _titled(ax, title)


def disagreement_map(disagree, background, title: str = "tiers that disagree", ax=None):
    """How many coarser tiers a hierarchical model's heads answer differently from tier 4.

    Parameters
    ----------
    disagree : numpy.ndarray
        ``(y, x)`` 0-3 (tiers whose head differs from the roll-up of tier 4), NaN
        outside the mapped area.
    background : numpy.ndarray
        ``(y, x, 3)`` RGB in 0-1.
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    """
    import matplotlib.pyplot as plt

    ax = _on_background(background, ax)
    shown = ax.imshow(np.ma.masked_where(~(disagree > 0), disagree), cmap="Reds", vmin=0, vmax=3)
    plt.colorbar(shown, ax=ax, fraction=0.046, label="tiers in disagreement")
    return _titled(ax, title)


def accuracy_factors(tables, cols: int = 2):
    """Accuracy per bin of each factor (bars) with the pixels per bin (text).

    Parameters
    ----------
    tables : mapping
        Factor name -> table from :func:`cropkit.analysis.error_analysis.accuracy_by`.
    cols : int
        Panels per row.
    """
    import matplotlib.pyplot as plt

    rows = -(-len(tables) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3 * rows), squeeze=False)
    for k, (name, table) in enumerate(tables.items()):
        ax = axes[k // cols, k % cols]
        x = np.arange(len(table))
        ax.bar(x, table["accuracy"].fillna(0), color="#377eb8")
        for xi, (n, acc) in enumerate(zip(table["pixels"], table["accuracy"])):
            if n:
                ax.text(xi, np.nan_to_num(acc) + 0.02, f"{n}", ha="center", fontsize=7)
        ax.set_xticks(x, table.index, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("accuracy")
        ax.set_title(name, fontsize=10)
    for k in range(len(tables), rows * cols):
        axes[k // cols, k % cols].axis("off")
    fig.tight_layout()
    return axes
