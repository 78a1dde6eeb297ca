"""Notebook 01's stage: the run's items, recorded or searched."""

import pytest

from cropkit.config import RunConfig
from cropkit.core.errors import DataError
from cropkit.core.run import RunFolder


@pytest.mark.server
def test_run_items_search_when_notebook_01_did_not_run(stac_server, tmp_path):
    from cropkit.access.providers import PROVIDERS
    from cropkit.access.stac import StacSource, open_api
    from cropkit.stages.discovery import run_items

    source = StacSource(stac_server.url, PROVIDERS["demo"], open_api(stac_server.url))
    cfg = RunConfig(run_root=str(tmp_path), max_cloud=20)
    run = RunFolder.for_config(cfg)
    found = run_items(source, run, cfg, "s2")
    assert run.item_ids("s2") == [it.id for it in found]
    again = run_items(source, run, cfg, "s2")  # now fetched by id
    assert [it.id for it in again] == [it.id for it in found]
    with pytest.raises(DataError, match="not in 'sentinel-2-c1-l2a'.*Rerun notebook 01"):
        source.fetch("s2", ["S2X_NOPE"])
