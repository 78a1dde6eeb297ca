"""The cropkit exception hierarchy.

Every error that cropkit raises on purpose derives from :class:`CropkitError`, so a
notebook can catch them all at once, and each message says what went wrong and how
to fix it.
"""

from __future__ import annotations

__all__ = [
    "CropkitError",
    "ConfigError",
    "UnknownRegionError",
    "DataError",
    "TaxonomyError",
    "ClassMismatchError",
    "StorageError",
    "GridMismatchError",
    "StacSearchError",
    "EmptySearchError",
    "StacConnectionError",
    "ServiceConnectionError",
    "ServerError",
    "MissingDependencyError",
    "MissingExtraError",
    "UnknownModelError",
    "TrainingError",
    "RunLockedError",
    "NotebookFailedError",
    "DamagedProductError",
]


class CropkitError(Exception):
    """Base class of every error raised by cropkit."""


class ConfigError(CropkitError, ValueError):
    """A parameter has an invalid value (bad year, bbox, profile, ...)."""


class UnknownRegionError(ConfigError, KeyError):
    """A region name is not in the region table."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataError(CropkitError):
    """Input data is malformed (a table, a parcel file, a STAC item)."""


class TaxonomyError(DataError):
    """The crop taxonomy table is inconsistent."""


class DamagedProductError(DataError):
    """A product of the run folder is incomplete or unreadable (a killed write, a disk error)."""


class GridMismatchError(DataError, ValueError):
    """Two arrays that must share a pixel grid do not (another resolution or extent)."""


class StacSearchError(CropkitError):
    """A STAC search could not be run."""


class EmptySearchError(StacSearchError):
    """A STAC search matched no item."""


class ServiceConnectionError(CropkitError, ConnectionError):
    """A remote service (a STAC API, a WFS) could not be reached or answered an error."""


class StacConnectionError(StacSearchError, ServiceConnectionError):
    """A STAC API could not be reached."""


class ServerError(CropkitError, RuntimeError):
    """The local STAC API (PostgreSQL, pgstac, uvicorn) failed to start or stop."""


class MissingDependencyError(ServerError):
    """A system program that cropkit needs (PostgreSQL, PostGIS) is not installed."""


class MissingExtraError(CropkitError, ImportError):
    """An optional Python package (an extra of cropkit) is needed but not installed."""


class UnknownModelError(ConfigError, KeyError):
    """A model name is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownInputError(ConfigError, DataError):
    """An input name that is no stream cropkit knows (``s2``, ``s1``, ``enmap``)."""


class TrainingError(CropkitError, RuntimeError):
    """Training could not go on (a NaN loss, GPU memory, a checkpoint that does not fit)."""


class RunLockedError(CropkitError, RuntimeError):
    """Another process is writing the run folder."""


class NotebookFailedError(CropkitError, RuntimeError):
    """A notebook of a headless run failed; says which, in which cell, and where to look.

    Attributes
    ----------
    notebook : str
        The notebook's name (``"04_model_training"``).
    cell : int or None
        Execution count of the failing cell (``In [n]``).
    ename, evalue : str
        The class and message of the error raised in the cell.
    executed : pathlib.Path
        The executed copy of the notebook (its outputs up to the failure).
    log : pathlib.Path
        The file holding the full traceback.
    """

    def __init__(self, notebook, cell, source, ename, evalue, executed, log) -> None:
        self.notebook, self.cell, self.source = notebook, cell, source
        self.ename, self.evalue, self.executed, self.log = ename, evalue, executed, log
        first = next((line for line in (source or "").splitlines() if line.strip()), "")
        where = f"cell In [{cell}]: {first.strip()}" if cell is not None else "no cell"
        super().__init__(
            f"{ename}: {evalue}\n  in notebook {notebook}, {where}\n"
            f"  executed notebook: {executed}\n  full traceback: {log}"
        )


class ClassMismatchError(DataError):
    """A model and a dataset number their classes differently and cannot be re-mapped."""


class StorageError(CropkitError, OSError):
    """The file system refused: a full disk, a read-only folder, no permission, no file handle.

    The message names the path and the fix (see :func:`cropkit.core.storage.storage_error`);
    ``errno`` and ``filename`` are those of the refusal.
    """

    def __str__(self) -> str:  # the message alone, not OSError's "[Errno n] ...: 'path'"
        return str(self.strerror if self.strerror is not None else super().__str__())
