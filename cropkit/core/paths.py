"""Where cropkit finds its tables and keeps what it generates.

Three places matter:

* the **data folder** (``data/`` in a clone): small committed tables (regions, taxonomy,
  crop parameters). Override with ``CROPKIT_DATA_DIR``.
* the **cache folder**: generated demo imagery and lookup tables, reused across runs.
  ``CROPKIT_CACHE_DIR`` or ``~/.cache/cropkit``.
* the **run folder**: ``runs/<region>-<year>/`` under the working directory, where the
  notebooks pass their products on (see :mod:`cropkit.core.run`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError

__all__ = ["data_dir", "data_file", "cache_dir"]


def data_dir() -> Path:
    """Return the folder that holds cropkit's committed tables.

    Returns
    -------
    pathlib.Path
        ``$CROPKIT_DATA_DIR`` when set, else the ``data/`` folder of the clone that
        holds this package.

    Raises
    ------
    DataError
        If no such folder exists (cropkit installed without its clone).
    """
    env = os.environ.get("CROPKIT_DATA_DIR")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "data"
    if not (folder / "regions.geojson").is_file():
        raise DataError(
            f"cropkit's data tables were not found in {folder}. Install cropkit from a clone "
            "with `pip install -e .` (the tables live in the clone's data/ folder), or set "
            "CROPKIT_DATA_DIR to a folder that holds regions.geojson, taxonomy.csv and crops.csv."
        )
    return folder


def data_file(name: str) -> Path:
    """Return the path of one committed table, e.g. ``data_file("taxonomy.csv")``."""
    path = data_dir() / name
    if not path.is_file():
        raise DataError(f"cropkit table {name!r} is missing from {path.parent}.")
    return path


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under cropkit's cache.

    Parameters
    ----------
    *parts
        Sub-folders below the cache root, e.g. ``cache_dir("demo", "chartres-2023")``.
    """
    root = Path(os.environ.get("CROPKIT_CACHE_DIR", Path.home() / ".cache" / "cropkit"))
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
