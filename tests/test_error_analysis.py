"""Error kinds, maps, border distances and what the errors go with, on hand-made values."""

import numpy as np
import pandas as pd
import pytest

from cropkit.analysis.error_analysis import (
    accuracy_by,
    border_distance,
    error_kinds,
    explained_errors,
    pixel_factors,
    tier_disagreement,
    to_grid,
)


def test_error_kinds_on_a_grid(frame):
    kinds = error_kinds(frame)
    # wheat->durum: same family (cereals); wheat->maize: cereals too; maize->meadow: another
    assert kinds.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 2]
    grid = to_grid(kinds, frame["row"], frame["col"], (2, 12), fill=255)
    assert grid.dtype == np.uint8 and (grid[1] == 255).all() and grid[0, 11] == 2


def test_border_distance():
    parcel = np.zeros((7, 7), dtype=int)
    parcel[1:6, 1:6] = 1
    dist = border_distance(parcel)
    assert dist[0, 0] == 0 and dist[1, 1] == 1 and dist[1, 3] == 1
    assert dist[2, 2] == 2 and dist[3, 3] == 3
    two = np.ones((3, 6), dtype=int)
    two[:, 3:] = 2
    assert border_distance(two)[1].tolist() == [3, 2, 1, 1, 2, 3]  # the image edge is no border


def test_accuracy_by_bins_and_what_known_flags_explain():
    clear = np.array([1, 2, 3, 8, 9, 10])
    ok = np.array([False, False, True, True, True, True])
    table = accuracy_by(clear, ok, [0, 4, 12], "clear observations")
    assert table["pixels"].tolist() == [3, 3]
    assert table["accuracy"].tolist() == pytest.approx([1 / 3, 1.0])
    assert table["share_of_errors"].tolist() == [1.0, 0.0]
    flags = pd.DataFrame({"false_declaration": [True, False, False, False, False, False]})
    out = explained_errors(ok, flags)
    assert out.loc["false_declaration", "share_of_errors"] == 0.5
    assert out.loc["none of these", "pixels"] == 5
    assert out.loc["none of these", "accuracy"] == pytest.approx(0.8)


def test_pixel_factors_read_the_provenance_flags_and_the_parcels():
    import xarray as xr

    valid = np.ones((4, 3), dtype=bool)
    valid[0, :2] = False  # pixel 0: one date of three observed
    pixels = xr.Dataset(
        {"valid": (("sample", "time"), valid), "parcel": ("sample", [1, 1, 2, 2])},
        coords={"row": ("sample", [0, 0, 1, 1]), "col": ("sample", [0, 1, 0, 1])},
        attrs={"shape": [2, 2]},
    )
    frame = pd.DataFrame(
        {
            "row": [0, 1],
            "col": [0, 1],
            "true_tier4": ["a", "b"],
            "pred_tier4": ["a", "c"],
        }
    )
    factors = pixel_factors(frame, pixels)
    assert factors["correct"].tolist() == [True, False]
    assert factors["clear_observations"].tolist() == [1, 3]
    assert factors["interpolated_share"].tolist() == pytest.approx([2 / 3, 0.0])
    assert factors["parcel_ha"].tolist() == pytest.approx([0.02, 0.02])
    assert factors["border_px"].tolist() == [1, 1]


def test_tier_disagreement_counts_heads_that_leave_the_roll_up():
    import xarray as xr

    parents = {"tier3": [0, 0, 1], "tier2": [0, 0, 1], "tier1": [0, 0, 0]}
    crop_map = xr.Dataset(
        {
            "class_tier4": (("y", "x"), [[0, 2]]),
            "class_tier3": (("y", "x"), [[0, 0]]),  # pixel 2: head says 0, roll-up 1
            "class_tier2": (("y", "x"), [[1, 0]]),  # both disagree here
            "class_tier1": (("y", "x"), [[0, 0]]),
        }
    )
    assert tier_disagreement(crop_map, parents).tolist() == [[1.0, 2.0]]


def test_a_run_without_a_hierarchical_model_is_told_which_to_add():
    from cropkit.analysis.error_analysis import no_hierarchical_model

    note = no_hierarchical_model({"xgboost": False, "ltae": False})
    assert "add dual_stream to notebook 04's models" in note
    assert no_hierarchical_model({"dual_stream": True}) is None
