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


class TrainingError(CropkitError, RuntimeError):
    """Training could not go on (a NaN loss, GPU memory, a checkpoint that does not fit)."""
