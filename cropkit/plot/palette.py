"""One qualitative palette for every plot that colours crops or classes.

Matplotlib's and HoloViews' default cycles have ten colours, so an eleventh crop
repeats the first hue. cropkit takes colorcet's Glasbey palette that starts with the
ten Category10 colours and goes on with colours chosen to stay apart from all before.
"""

from __future__ import annotations

__all__ = ["qualitative", "class_colors"]


def qualitative(n: int) -> list[str]:
    """``n`` distinct colours as hex strings (Category10 first, then Glasbey's)."""
    import colorcet

    palette = colorcet.glasbey_category10
    return [_hex(palette[k % len(palette)]) for k in range(n)]


def class_colors(names) -> dict[str, str]:
    """A colour per class name, in sorted order (the same class, the same colour)."""
    names = sorted({str(n) for n in names})
    return dict(zip(names, qualitative(len(names))))


def _hex(rgb) -> str:
    if isinstance(rgb, str):
        return rgb
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb[:3])
