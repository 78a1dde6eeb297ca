"""The run's checked parcels (notebooks 03 to 06): a user file, IGN's RPG or the data's own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd

from ..compute import labels
from ..core.errors import DataError
from ..core.run import RunFolder
from ..core.store import replacing
from ..core.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from ..endpoint import RunSource

__all__ = ["run_parcels", "trained_parcels"]


def run_parcels(
    source: RunSource,
    parcels_path: str | None = None,
    run: RunFolder | None = None,
    code_column: str = "CODE_CULTU",
    crop_codes: str = "rpg",
) -> gpd.GeoDataFrame:
    """The checked parcels of the run, clipped to its grid.

    Parameters
    ----------
    source : RunSource
        The run's data (:func:`cropkit.endpoint.open_source`): its config, and the
        parcels that come with the data, if any.
    parcels_path : str, optional
        A GeoParquet, GeoPackage, Shapefile or GeoJSON file with a crop-code column,
        or ``"ign-wfs"`` to download the RPG of the study area from IGN's public WFS
        (saved in the run folder as ``rpg_<bbox>.parquet`` and reused for the same
        area). Required where the data brings no parcels (every real provider); the
        data's own (the demo's simulated RPG) otherwise.
    run : RunFolder, optional
        Where ``"ign-wfs"`` keeps its download (the config's run folder by default).
    code_column : str
        The crop-code column of a user file (``"EC_hcat_c"`` in EuroCrops files).
    crop_codes : str
        How codes map into the four tiers: ``"rpg"`` (French ``CODE_CULTU``), ``"hcat3"``
        (EuroCrops HCAT3, any EU country) or the path of your own table (see
        :func:`cropkit.core.taxonomy.load_taxonomy`). Codes the mapping lacks are counted and
        dropped with a warning.

    Returns
    -------
    geopandas.GeoDataFrame
        With columns ``tier4`` ... ``tier1`` (see :func:`cropkit.compute.labels.check_parcels`,
        which also warns about and counts dropped parcels).

    Raises
    ------
    DataError
        Without ``parcels_path`` for real data.
    """
    config = source.config
    if parcels_path == "ign-wfs":
        from ..access.rpg import fetch_rpg

        west, south, east, north = config.bbox
        name = f"rpg_{west:.4f}_{south:.4f}_{east:.4f}_{north:.4f}.parquet"  # one per area
        path = (run or RunFolder.for_config(config)).path / name
        if not path.exists():
            with replacing(path) as tmp:
                fetch_rpg(config.bbox, config.growing_season.year).to_parquet(tmp)
        return labels.within_grid(labels.read_parcels(path)[0], config.grid)
    if parcels_path:
        taxonomy = load_taxonomy(crop_codes)
        parcels = labels.read_parcels(parcels_path, code_column, taxonomy)[0]
        return labels.within_grid(parcels, config.grid)
    if source.parcels is not None:
        parcels = labels.check_parcels(source.parcels)[0]
        return labels.within_grid(parcels, config.grid)
    raise DataError(
        "Give parcels_path (an RPG file with CODE_CULTU, or 'ign-wfs' to download the RPG "
        "from IGN) to use parcels with real data."
    )


def trained_parcels(source: RunSource, run: RunFolder) -> gpd.GeoDataFrame:
    """The parcels notebook 04 trained on: its file, code column and code mapping.

    Raises
    ------
    DataError
        If notebook 04 has not run for this run (its parcel settings are unknown).
    """
    from .parameters import TrainingParameters

    params = TrainingParameters.recorded(run)
    return run_parcels(
        source, params.parcels_path or None, run, params.code_column, params.crop_codes
    )
