"""The run folder: where notebooks leave their products for the next one.

``runs/<region>-<year>/`` holds each notebook's outputs and a ``manifest.json`` that
every notebook extends: the parameters, the STAC items used, the products written,
and the versions of the software that made them.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pystac

from .errors import DamagedProductError, DataError
from .locks import RunLock, sweep_leftovers
from .store import replacing

if TYPE_CHECKING:
    import pandas as pd

    from ..config import RunConfig

__all__ = [
    "RunFolder",
    "read_manifest",
    "summary_table",
    "software_versions",
    "save_items",
    "load_items",
]

_PACKAGES = (
    "cropkit",
    "numpy",
    "xarray",
    "rasterio",
    "pystac",
    "pystac-client",
    "stackstac",
    "stac-fastapi-pgstac",
    "pypgstac",
    "prosail",
    "torch",
    "xgboost",
    "papermill",
)


def software_versions() -> dict[str, str]:
    """Versions of Python and of the packages cropkit relies on."""
    out = {"python": platform.python_version(), "platform": sys.platform}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def read_manifest(run_dir: str | Path) -> dict:
    """The ``manifest.json`` of a run folder: the one reader every command goes through.

    Returns
    -------
    dict
        The manifest, or an empty skeleton (``run``, ``notebooks``, ``items``,
        ``products``) if none was written yet.

    Raises
    ------
    DamagedProductError
        If the file is not valid JSON (cut short by a full disk or a killed copy), naming
        it and the way out.
    """
    path = Path(run_dir) / "manifest.json"
    if not path.exists():
        return {"run": Path(run_dir).name, "notebooks": {}, "items": {}, "products": {}}
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DamagedProductError(
            f"{path} is damaged (not valid JSON: {err}), so what the run folder holds is "
            "unknown: delete it and run the notebooks again (the run's products are rebuilt), "
            "or restore it from a copy."
        ) from err
    if not isinstance(manifest, dict):
        raise DamagedProductError(f"{path} holds no manifest (a JSON {type(manifest).__name__}).")
    return manifest


class RunFolder:
    """A run folder and its manifest.

    Parameters
    ----------
    path : path-like
        The folder (created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_config(cls, config: RunConfig) -> RunFolder:
        """The run folder of a :class:`~cropkit.config.RunConfig`.

        The first notebook records what defines the run (area, grid, season, provider)
        in the manifest; a config that differs is refused, so no product of one run is
        read as another's.

        Raises
        ------
        DataError
            If the folder holds the products of another run.
        """
        run = cls(config.run_dir)
        identity = json.loads(json.dumps(config.identity))
        with run.lock():
            sweep_leftovers(run.path)  # what killed writers left
            manifest = run.manifest()
            recorded = manifest.get("identity")
            if recorded is None:
                manifest["identity"] = identity
                run._write(manifest)
        if recorded is not None and recorded != identity:
            changed = sorted(
                k for k in set(recorded) | set(identity) if recorded.get(k) != identity.get(k)
            )
            raise DataError(
                f"{run.path} holds the products of another run (it differs in {changed}: "
                f"{ {k: recorded.get(k) for k in changed} } there, "
                f"{ {k: identity.get(k) for k in changed} } now). Use another run_root, or "
                "delete the folder to start this run afresh."
            )
        return run

    def lock(self, wait: float = 120.0) -> RunLock:
        """The folder's write lock (a context manager; see :class:`cropkit.core.locks.RunLock`).

        Parameters
        ----------
        wait : float
            Seconds to wait for another writer before a
            :class:`~cropkit.core.errors.RunLockedError` that names it.
        """
        return RunLock(self.path, wait=wait)

    def _write(self, manifest: dict) -> None:
        with replacing(self.manifest_path) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2, default=str))

    @property
    def manifest_path(self) -> Path:
        """``manifest.json`` in the folder."""
        return self.path / "manifest.json"

    def manifest(self) -> dict:
        """The manifest (empty skeleton if none was written yet); see :func:`read_manifest`."""
        return read_manifest(self.path)

    def record(
        self,
        notebook: str,
        parameters: dict,
        products: dict[str, str | Path] | None = None,
        items: dict[str, list[str]] | None = None,
        metrics: dict | None = None,
    ) -> dict:
        """Add one notebook's entry to the manifest and save it.

        Parameters
        ----------
        notebook : str
            Notebook name, e.g. ``"01_stac_discovery"``.
        parameters : dict
            Its parameters.
        products : dict, optional
            Product name -> file path (stored relative to the run folder).
        items : dict, optional
            Sensor key (``"s2"``, ``"s1"``, ``"enmap"``) -> list of STAC item ids used.
        metrics : dict, optional
            Numbers worth keeping (counts, scores, timings).
        """
        with self.lock():
            return self._record(notebook, parameters, products, items, metrics)

    def _record(self, notebook, parameters, products, items, metrics) -> dict:
        manifest = self.manifest()
        manifest["updated"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        manifest["software"] = software_versions()
        entry = {"parameters": parameters, "finished": manifest["updated"]}
        if metrics:
            entry["metrics"] = metrics
        manifest["notebooks"][notebook] = entry
        for name, p in (products or {}).items():
            path = Path(p)
            manifest["products"][name] = str(
                path.relative_to(self.path) if path.is_relative_to(self.path) else path
            )
        manifest["items"].update(items or {})
        self._write(manifest)
        return manifest

    def add_items(self, name: str, ids: list[str]) -> None:
        """Record the ids of the ``name`` items in the manifest."""
        with self.lock():
            manifest = self.manifest()
            manifest.setdefault("items", {})[name] = list(ids)
            self._write(manifest)

    def notebook_parameters(self, notebook: str) -> dict:
        """Parameters recorded by ``notebook`` in this run ({} if it has not run)."""
        return dict(self.manifest().get("notebooks", {}).get(notebook, {}).get("parameters", {}))

    def item_ids(self, name: str) -> list[str]:
        """Ids of the ``name`` items (``"s2"``, ``"s1"``, ``"enmap"``) recorded in the manifest.

        Raises
        ------
        DataError
            If notebook 01 has not recorded them for this run.
        """
        ids = self.manifest().get("items", {}).get(name)
        if not ids:
            raise DataError(
                f"The run {self.path} has no {name!r} items yet: run notebook 01_stac_discovery "
                "for this region and year first."
            )
        return list(ids)

    def save_items(self, name: str, items: pystac.ItemCollection) -> Path:
        """Save an item collection as ``items/<name>.json``."""
        return save_items(items, self.path / "items" / f"{name}.json")

    def load_items(self, name: str) -> pystac.ItemCollection:
        """Read ``items/<name>.json``; says which notebook makes it if missing."""
        path = self.path / "items" / f"{name}.json"
        if not path.exists():
            raise DataError(
                f"{path} does not exist yet: run notebook 01_stac_discovery for this run first."
            )
        return load_items(path)


def save_items(items: pystac.ItemCollection, path: str | Path) -> Path:
    """Write an item collection as GeoJSON (``FeatureCollection``)."""
    path = Path(path)
    with replacing(path) as tmp:
        items.save_object(dest_href=str(tmp))
    return path


def load_items(path: str | Path) -> pystac.ItemCollection:
    """Read an item collection written by :func:`save_items`."""
    return pystac.ItemCollection.from_file(str(path))


def summary_table(run_dirs: list[str | Path]) -> pd.DataFrame:
    """One row per run and model: the runs' scores side by side.

    Read from each run's ``manifest.json``: area, season, provider, model, macro F1 of
    tiers 1-4, overall accuracy (tier 4), the clear-observation share of notebook 02
    and the seconds of each notebook's last execution.

    Parameters
    ----------
    run_dirs : list of path-like
        Run folders (those without a manifest are left out).

    Returns
    -------
    pandas.DataFrame
        Columns ``run, area, season, provider, model, macro_f1_tier1`` ...
        ``macro_f1_tier4, overall_accuracy, clear_share`` and ``seconds_<notebook>``.
    """
    import pandas as pd

    rows = []
    for folder in map(Path, run_dirs):
        path = folder / "manifest.json"
        if not path.is_file():
            continue
        manifest = read_manifest(folder)
        identity = manifest.get("identity", {})
        nbs = manifest.get("notebooks", {})
        masking = nbs.get("02_cloud_masking", {})
        base = {
            "run": folder.name,
            "area": identity.get("area"),
            "season": "/".join(identity.get("season", [])),
            "provider": identity.get("stac"),
            "clear_share": masking.get("metrics", {}).get("mean_clear_share"),
        }
        seconds = {
            f"seconds_{stem[:2]}": entry.get("seconds")
            for stem, entry in sorted(manifest.get("executions", {}).items())
        }
        models = nbs.get("04_model_training", {}).get("metrics") or {"": {}}
        for model, scores in models.items():
            row = {**base, "model": model or None}
            for tier in ("tier1", "tier2", "tier3", "tier4"):
                row[f"macro_f1_{tier}"] = scores.get(f"macro_f1_{tier}")
            row["overall_accuracy"] = scores.get("overall_accuracy")
            rows.append({**row, **seconds})
    return pd.DataFrame(rows)
