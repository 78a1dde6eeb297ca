"""Plots of model training (notebook 04): class balance, splits, scores, confusion."""

from __future__ import annotations

from .resources import hvplot

_SPLIT_COLORS = {"unused": "#f0f0f0", "train": "#1f77b4", "val": "#ff7f0e", "test": "#d62728"}


def class_balance(tables):
    """Labelled pixels per class and split side, one panel per tier.

    Parameters
    ----------
    tables : mapping
        Tier -> table from :func:`cropkit.compute.splits.split_summary` (classes x train/val/test).

    Returns
    -------
    holoviews.Layout
        Horizontal stacked bars, log-free so the imbalance shows.
    """
    import holoviews as hv

    panels = [
        hvplot(table).barh(
            stacked=True,
            title=f"{tier}: {len(table)} classes",
            xlabel="",
            ylabel="labelled pixels",
            color=[_SPLIT_COLORS[c] for c in table.columns],
            height=max(180, 22 * len(table)),
            width=420,
            legend="bottom_right",
        )
        for tier, table in tables.items()
    ]
    return hv.Layout(panels).cols(2)


def split_map(split, title: str = "spatial split"):
    """Map of a split layer: train, validation, test and unused pixels.

    Parameters
    ----------
    split : xarray.DataArray
        Split codes ``(y, x)`` from :mod:`cropkit.compute.splits`.
    title : str
        Plot title.

    Returns
    -------
    holoviews.Image
    """
    colors = list(_SPLIT_COLORS.values())
    return hvplot(split.astype("float32")).image(
        x="x",
        y="y",
        cmap=colors,
        clim=(-1.5, 2.5),
        colorbar=True,
        data_aspect=1,
        frame_width=520,
        title=f"{title}: blue train, orange validation, red test, grey unused",
        rasterize=False,
    )


def confusion_matrix(confusion, normalize: bool = True, ax=None, title: str = ""):
    """Confusion matrix heatmap (rows: reference, columns: prediction).

    Parameters
    ----------
    confusion : pandas.DataFrame
        Counts from :class:`cropkit.compute.metrics.ClassificationReport`.
    normalize : bool
        Show each row as shares of its reference pixels (the diagonal is recall).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import numpy as np

    rows = confusion.loc[confusion.sum(axis=1) > 0]
    values = rows.to_numpy(dtype=float)
    if normalize:
        values = values / values.sum(axis=1, keepdims=True)
    if ax is None:
        size = 0.45 * len(confusion.columns) + 2.5
        _, ax = plt.subplots(figsize=(size + 1.5, 0.45 * len(rows) + 2))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(np.arange(len(rows.columns)), rows.columns, rotation=60, ha="right")
    ax.set_yticks(np.arange(len(rows.index)), rows.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    for (i, j), v in np.ndenumerate(values):
        if v >= (0.01 if normalize else 1):
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > 0.6 * values.max() else "black",
            )
    ax.figure.colorbar(
        image, ax=ax, fraction=0.04, label="share of reference" if normalize else "pixels"
    )
    ax.set_title(
        title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix")
    )
    return ax


def per_class_scores(per_class, title: str = "per-class F1"):
    """F1 per class (bars), with the number of reference pixels in the hover.

    Parameters
    ----------
    per_class : pandas.DataFrame
        Classes as index, one column per model or input set (or the ``per_class`` table
        of a report: its ``f1`` column is used).
    title : str
        Plot title.

    Returns
    -------
    holoviews.Bars
    """
    table = per_class[["f1"]] if "f1" in per_class.columns else per_class
    long = table.reset_index(names="class").melt(id_vars="class", var_name="set", value_name="F1")
    return hvplot(long).bar(
        x="class", y="F1", by="set", rot=60, ylim=(0, 1), height=340, width=760, title=title
    )


def training_curves(histories):
    """Loss and validation macro F1 per epoch, one line per deep model.

    Parameters
    ----------
    histories : mapping
        Model name -> its per-epoch log (``model.history``: columns ``epoch``,
        ``train_loss``, ``val_loss``, ``val_f1``). Empty logs (XGBoost) are skipped.

    Returns
    -------
    holoviews.Layout
        Loss (train solid, validation dashed) beside validation tier-4 macro F1.
    """
    import holoviews as hv

    loss, f1 = [], []
    for name, log in histories.items():
        if log is None or not len(log) or "train_loss" not in log:
            continue
        loss.append(hvplot(log).line(x="epoch", y="train_loss", label=f"{name} train"))
        if "val_loss" in log:
            loss.append(
                hvplot(log)
                .line(x="epoch", y="val_loss", label=f"{name} val")
                .opts(line_dash="dashed")
            )
            f1.append(hvplot(log).line(x="epoch", y="val_f1", label=name))
    if not loss:
        return hv.Div("<p>No deep model was trained: no curves to show.</p>")
    opts = {"width": 420, "height": 300, "legend_position": "top_right"}
    panels = [hv.Overlay(loss).opts(title="loss", ylabel="cross-entropy", **opts)]
    if f1:
        panels.append(hv.Overlay(f1).opts(title="validation tier-4 macro F1", ylim=(0, 1), **opts))
    return hv.Layout(panels).cols(2)


def prediction_map(crop_map, labels, split, tier: str = "tier4", ax=None):
    """The predicted map beside the reference labels, on the test pixels.

    Parameters
    ----------
    crop_map : xarray.Dataset
        From :func:`cropkit.experiments.inference.predict_zone` (``class_<tier>`` ``(y, x)``).
    labels : xarray.Dataset
        From :func:`cropkit.compute.labels.rasterize_labels` on the same grid.
    split : xarray.DataArray
        Split codes ``(y, x)``; only the test side is drawn.
    tier : str
        Tier to draw.
    ax : sequence of two matplotlib axes, optional
        Where to draw (new figure otherwise).

    Returns
    -------
    numpy.ndarray
        The two axes (reference, prediction).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from ..compute.splits import TEST

    test = split.values == TEST
    cols = np.flatnonzero(test.any(axis=0))
    rows = np.flatnonzero(test.any(axis=1))
    window = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    classes = list(crop_map[f"class_{tier}"].attrs["classes"])
    reference_names = list(labels[tier].attrs["classes"])
    reference = labels[tier].values.astype(float)
    # the labels index their own class list: map to the model's
    lookup = np.array([classes.index(n) if n in classes else -1 for n in reference_names])
    reference = np.where(reference >= 0, lookup[np.clip(reference, 0, None).astype(int)], -1)
    shown = (labels[tier].values >= 0) & test
    predicted = crop_map[f"class_{tier}"].values.astype(float)
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    from matplotlib.colors import ListedColormap

    from .palette import qualitative

    cmap = ListedColormap(qualitative(max(len(classes), 2)))  # a distinct hue per class
    for axis, values, title in (
        (ax[0], reference, "reference"),
        (ax[1], predicted, f"predicted ({crop_map.attrs.get('model', '')})"),
    ):
        image = np.where(shown & (values >= 0), values, np.nan)[window]
        axis.imshow(image, cmap=cmap, vmin=-0.5, vmax=len(classes) - 0.5, interpolation="none")
        axis.set_title(f"{title}, {tier}, test pixels")
        axis.set_axis_off()
    drawn = np.unique(np.concatenate([v[shown & (v >= 0)] for v in (reference, predicted)]))
    drawn = drawn.astype(int)  # the classes on the map (the list holds the whole taxonomy)
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in drawn]
    names = [classes[i] for i in drawn]
    ax[1].legend(handles, names, loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    return np.asarray(ax)
