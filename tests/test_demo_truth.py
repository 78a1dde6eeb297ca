"""What the simulator knows: when look-alike crops differ, which parcels lie or suffer."""

import pandas as pd
import pytest

from cropkit.core.errors import ConfigError
from cropkit.core.taxonomy import load_taxonomy
from cropkit.demo.truth import canopy_separation


def test_the_simulator_knows_when_look_alike_crops_differ():
    starts = pd.date_range("2023-01-01", periods=12, freq="MS")
    sep = canopy_separation(
        [("grain_maize", "silage_maize"), ("winter_soft_wheat", "winter_barley")], starts
    )
    assert sep.dims == ("pair", "time") and (sep.values >= 0).all()
    maize, cereals = sep.isel(pair=0), sep.isel(pair=1)
    # silage maize is cut in September, grain maize in October-November: they differ then
    assert int(maize.argmax()) in (8, 9)
    assert float(maize.isel(time=[0, 1, 2, 3]).max()) < 0.5  # bare soil alike in winter
    # winter barley ripens and is harvested weeks before wheat: June-July
    assert int(cereals.argmax()) in (5, 6)
    with pytest.raises(ConfigError, match="No simulated calendar"):
        canopy_separation([("grain_maize", "moon_beans")], starts)


def test_the_demo_records_what_its_parcel_file_hides(tiny_demo):
    from cropkit.demo.phenology import crop_parameters

    truth = tiny_demo.truth()
    parcels = tiny_demo.parcels()
    assert list(truth["ID_PARCEL"]) == list(parcels["ID_PARCEL"])
    assert (truth["false_declaration"] == (truth["grown"] != truth["declared"])).all()
    assert truth["false_declaration"].dtype == bool and truth["stressed"].dtype == bool
    table = load_taxonomy().table  # the parcel file shows the declared crop
    assert (truth["declared"] == table.loc[parcels["CODE_CULTU"], "tier4"].to_numpy()).all()
    patterns = crop_parameters().loc[truth["grown"], "pattern"].to_numpy()
    stressed = truth["stressed"].to_numpy()
    assert set(patterns[stressed]) <= {"winter", "spring", "summer"}  # annual crops only


def test_a_demo_from_an_older_cropkit_says_how_to_rebuild(tiny_demo, tmp_path):
    import shutil

    from cropkit.core.errors import DataError
    from cropkit.demo import DemoData

    old = tmp_path / "old"
    shutil.copytree(tiny_demo.root, old, ignore=shutil.ignore_patterns("*.tif"))
    (old / "truth.parquet").unlink()
    with pytest.raises(DataError, match="older cropkit. Rebuild it"):
        DemoData(old, tiny_demo.spec).truth()
