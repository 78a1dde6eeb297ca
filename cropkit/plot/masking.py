"""Plots of cloud masking (notebook 02): SCL classes, a scene beside its mask, rasters."""

from __future__ import annotations

from .resources import hvplot

#: Colours of the SCL classes (close to ESA's legend).
SCL_COLORS = {
    0: "#000000",
    1: "#ff0000",
    2: "#2f2f2f",
    3: "#643200",
    4: "#00a000",
    5: "#ffe65a",
    6: "#0000ff",
    7: "#808080",
    8: "#c0c0c0",
    9: "#ffffff",
    10: "#64c8ff",
    11: "#ff96ff",
}


def scl_breakdown(breakdown):
    """Stacked bars of the SCL class shares per date (hvplot).

    Parameters
    ----------
    breakdown : xarray.DataArray
        From :func:`cropkit.compute.cloudmask.class_breakdown`, dims ``(time, scl_class)``.
    """
    frame = breakdown.to_pandas()
    frame.columns = [f"{c} {breakdown['scl_name'].values[i]}" for i, c in enumerate(frame.columns)]
    return hvplot(frame).bar(
        stacked=True,
        rot=90,
        width=900,
        height=350,
        legend="right",
        ylabel="share of the area",
        xlabel="",
        title="Scene classification per date",
        color=list(SCL_COLORS.values()),
    )


def rgb(cube, gain: float = 3.5):
    """``(band, y, x)`` reflectance with B04, B03, B02 -> ``(y, x, 3)`` display RGB in 0-1."""
    import numpy as np

    stack = cube.sel(band=["B04", "B03", "B02"]).transpose("y", "x", "band").values
    return np.clip(np.nan_to_num(stack) * gain, 0, 1)


def scene_and_mask(s2, when, axes=None):
    """A date's true-colour image beside its SCL and its clear mask (matplotlib).

    Parameters
    ----------
    s2 : cropkit.stages.masking.MaskedS2
        The masked cube.
    when : str or datetime-like
        Date to show (the nearest acquisition).
    axes : sequence of three matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    numpy.ndarray
        The three Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    s2 = s2.on_date(when)  # its own files, not the season's chunks
    scene = s2.reflectance.isel(time=0)
    day = str(scene["time"].values)[:10]
    axes[0].imshow(rgb(scene.compute()))
    axes[0].set_title(f"{day}: true colour")
    cmap = ListedColormap(list(SCL_COLORS.values()))
    axes[1].imshow(
        s2.scl.isel(time=0),
        cmap=cmap,
        vmin=-0.5,
        vmax=11.5,
        interpolation="nearest",
    )
    axes[1].set_title("scene classification (SCL)")
    axes[2].imshow(
        s2.clear.isel(time=0),
        cmap="gray",
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    axes[2].set_title("clear mask (white = kept)")
    for ax in axes:
        ax.set_axis_off()
    return axes


def clear_fraction_timeline(fraction):
    """Clear share of the area per date (hvplot).

    From :func:`~cropkit.compute.cloudmask.clear_fraction`.
    """
    frame = fraction.to_pandas().rename("clear share").to_frame()
    return hvplot(frame).line(
        y="clear share",
        width=900,
        height=280,
        ylim=(0, 1.02),
        xlabel="",
        title="Clear share of the study area per acquisition",
    ) * hvplot(frame).scatter(y="clear share", size=30)


def raster(image, title: str, cmap: str = "viridis", clim=None):
    """An interactive ``(y, x)`` raster (hvplot image, equal aspect)."""
    return hvplot(image).image(
        x="x",
        y="y",
        cmap=cmap,
        clim=clim,
        title=title,
        data_aspect=1,
        frame_width=500,
        rasterize=False,
        xaxis=None,
        yaxis=None,
    )
