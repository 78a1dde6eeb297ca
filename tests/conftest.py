"""Shared fixtures: a tiny demo, built once per session in a private cache."""

from __future__ import annotations

import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # workers share the cores: one thread each for torch's and numpy's pools (OpenMP
    # threads that outnumber the cores spin and slow everything down)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Keep everything the tests generate out of the user's cache.

    One cache for all the workers of a pytest-xdist run (demos are built once: a builder
    locks its demo and the others wait for it and reuse it).
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "cropkit-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("cropkit-cache")
    old = os.environ.get("CROPKIT_CACHE_DIR")
    os.environ["CROPKIT_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("CROPKIT_CACHE_DIR", None)
    else:
        os.environ["CROPKIT_CACHE_DIR"] = old


@pytest.fixture()
def make_grid():
    """A factory of hand-made 10 m grids (pixel centres, EPSG:32631), bottom-left corner
    at (500000, 5000000): ``make_grid(rows, cols)`` -> zeros ``(y, x)``."""
    import numpy as np
    import xarray as xr

    def make(rows: int, cols: int) -> xr.DataArray:
        x = 500005.0 + 10 * np.arange(cols)
        y = 5000000.0 + 10 * rows - 5 - 10 * np.arange(rows)
        return xr.DataArray(
            np.zeros((rows, cols)),
            dims=("y", "x"),
            coords={"y": y, "x": x},
            attrs={"crs": "EPSG:32631"},
        )

    return make


@pytest.fixture(scope="session")
def tiny_demo(private_cache):
    """Chartres 2023 on two 64 x 64 zones: every collection, a few seconds to build."""
    from cropkit.demo import build_demo

    return build_demo("chartres", 2023, profile="ci", zone_px=64, enmap_scenes=2)


@pytest.fixture(scope="session")
def smoke_run_root(tmp_path_factory):
    """One run root for every run of the smoke areas of the Chartres ci demo
    (``benchmarks/_demo.py``): the benchmarks' smoke runs and the study tests make each
    area's composites and datasets once, and reuse them as a rerun does."""
    return str(tmp_path_factory.mktemp("smoke-runs"))


@pytest.fixture(scope="session")
def stac_server(tiny_demo):
    """A local STAC API with the tiny demo loaded (skipped without PostGIS, unless CI)."""
    from cropkit.core.errors import MissingDependencyError
    from cropkit.server import LocalStacServer

    try:
        server = LocalStacServer().start()
    except MissingDependencyError as err:
        if os.environ.get("CROPKIT_REQUIRE_SERVER"):
            raise
        pytest.skip(f"local STAC API unavailable: {err}")
    server.add_catalog(tiny_demo)
    yield server
    server.stop()


# -- a hand-made labelled scene for splits, datasets, models -------------------------------

TOY_CODES = ["BTH", "ORH", "MIS", "CZH"]  # soft wheat, winter barley, grain maize, rapeseed


@pytest.fixture(scope="session")
def toy_scene():
    """Two 40 x 40 zones of 16 square parcels each, labels and a 12-month composite.

    Parcel ``k`` (row-major over the 4 x 8 parcel grid) grows ``TOY_CODES[k % 4]``. Each
    crop has its own seasonal curve in every band, plus per-parcel and per-pixel noise.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import xarray as xr
    from shapely.geometry import box

    from cropkit.compute.labels import check_parcels, rasterize_labels

    x0, y0, size = 500000.0, 5400000.0, 100.0  # parcels of 10 x 10 pixels
    geoms, codes = [], []
    for r in range(4):
        for c in range(8):
            geoms.append(
                box(x0 + c * size, y0 - (r + 1) * size, x0 + (c + 1) * size, y0 - r * size)
            )
            codes.append(TOY_CODES[(r * 8 + c) % 4])
    parcels = gpd.GeoDataFrame({"CODE_CULTU": codes}, geometry=geoms, crs=32631)
    zones = gpd.GeoDataFrame(
        {"zone_id": ["z1", "z2"]},
        geometry=[box(x0, y0 - 400, x0 + 400, y0), box(x0 + 400, y0 - 400, x0 + 800, y0)],
        crs=32631,
    )
    xs = x0 + 5 + 10 * np.arange(80)
    ys = y0 - 5 - 10 * np.arange(40)
    like = xr.DataArray(np.zeros((40, 80)), dims=("y", "x"), coords={"y": ys, "x": xs})
    like.attrs["crs"] = "EPSG:32631"
    parcels, _ = check_parcels(parcels)
    labels = rasterize_labels(parcels, like)
    rng = np.random.default_rng(0)
    # rank of each pixel's class among the four grown (the taxonomy numbers all 21)
    tier4 = labels["tier4"].values
    crop = np.where(tier4 >= 0, np.searchsorted(np.unique(tier4[tier4 >= 0]), tier4), -1)
    months = np.arange(12)
    peak = np.array([3.0, 4.0, 7.0, 2.0])[np.clip(crop, 0, 3)]  # per class rank
    season = np.exp(-0.5 * ((months[:, None, None] - peak[None]) / 1.5) ** 2)
    parcel_noise = rng.normal(0, 0.05, 33)[labels["parcel"].values]
    bands = np.linspace(0.05, 0.4, 10)
    median = (
        bands[None, :, None, None] * (1 + season[:, None] + parcel_noise[None, None])
        + rng.normal(0, 0.01, (12, 10, 40, 80))
    ).astype("float32")
    flags = (rng.random((12, 40, 80)) < 0.2).astype("uint8")  # 20 % interpolated
    periods = pd.date_range("2023-01-01", periods=12, freq="MS")
    band_names = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    s2 = xr.Dataset(
        {
            "median": (("period", "band", "y", "x"), median),
            "flags": (("period", "y", "x"), flags),
        },
        coords={"period": periods, "band": band_names, "y": ys, "x": xs},
        attrs={"crs": "EPSG:32631"},
    )
    s1 = xr.Dataset(
        {"mean": (("period", "band", "y", "x"), -15 + 5 * np.stack([season, season], 1))},
        coords={"period": periods, "band": ["VV", "VH"], "y": ys, "x": xs},
        attrs={"crs": "EPSG:32631"},
    )
    ex, ey = x0 + 15 + 30 * np.arange(27), y0 - 15 - 30 * np.arange(14)
    enmap = xr.Dataset(
        {"reflectance": (("band", "y", "x"), rng.random((5, 14, 27)).astype("float32"))},
        coords={
            "band": [f"B{i:03d}" for i in range(1, 6)],
            "y": ey,
            "x": ex,
            "wavelength": ("band", [450.0, 550.0, 650.0, 750.0, 850.0]),
        },
        attrs={"crs": "EPSG:32631"},
    )
    return {
        "parcels": parcels,
        "zones": zones,
        "labels": labels,
        "s2": s2,
        "s1": s1,
        "enmap": enmap,
    }


#: XGBoost settings that train the toy sets in a second.
FAST_XGBOOST = {"n_estimators": 30, "n_jobs": 1, "max_train_pixels": 0}


def toy_pixels_of(toy_scene):
    """The toy scene as a pixel dataset: zone z2 held out, S1, four spatial folds."""
    from cropkit.compute.folds import block_kfold
    from cropkit.compute.splits import zone_holdout
    from cropkit.datasets import pixel_dataset

    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.25, block_px=20)
    folds = block_kfold(labels, k=4, block_px=20)
    return pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"], None, folds)


@pytest.fixture(scope="module")
def toy_pixels(toy_scene):
    """The toy scene as a pixel dataset: zone z2 held out, S1, four spatial folds."""
    return toy_pixels_of(toy_scene)


# -- tiny trained attention models (the toy scene, one or two epochs) ---------------------------

#: Settings that train each attention model on the toy scene in seconds.
TINY = {
    "ltae": {"epochs": 2, "batch_size": 64, "d_model": 32, "n_head": 4, "samples_per_epoch": 0},
    "utae": {"epochs": 1, "batch_size": 8, "widths": [8, 16], "n_head": 2, "d_model": 16},
    "attention3dcnn": {"epochs": 1, "batch_size": 8, "optical_width": 4, "sar_width": 4},
    "dual_stream": {
        "epochs": 1,
        "batch_size": 8,
        "widths": [8, 16],
        "n_head": 2,
        "d_model": 16,
        "fused_width": 16,
        "head_hidden": 16,
    },
}


@pytest.fixture(scope="session")
def toy_train_side(toy_scene):
    """The training pixels of the toy scene, zone z2 held out."""
    from cropkit.compute.splits import TRAIN, zone_holdout
    from cropkit.datasets import pixel_dataset, select_split

    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    ds = pixel_dataset(toy_scene["s2"], labels, split, toy_scene["s1"], toy_scene["enmap"])
    return select_split(ds, TRAIN)


@pytest.fixture(scope="session")
def toy_patches(toy_scene):
    """The toy scene cut into 8 x 8 patches, zone z2 held out."""
    from cropkit.compute.splits import zone_holdout
    from cropkit.datasets import patch_dataset

    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.0)
    return patch_dataset(
        toy_scene["s2"], labels, split, size=8, s1=toy_scene["s1"], enmap=toy_scene["enmap"]
    )


@pytest.fixture(scope="session")
def attention_patches(toy_scene):
    """The toy scene as 8 x 8 patches with S1 and EnMAP, zone z2 held out."""
    from cropkit.compute.splits import zone_holdout
    from cropkit.datasets import patch_dataset

    split = zone_holdout(toy_scene["labels"], toy_scene["zones"], ["z2"], 0.0)
    return patch_dataset(
        toy_scene["s2"],
        toy_scene["labels"],
        split,
        size=8,
        s1=toy_scene["s1"],
        enmap=toy_scene["enmap"],
    )


@pytest.fixture(scope="session")
def tiny_attention_models(toy_scene, attention_patches):
    """Name -> (trained model, its dataset) for every attention model, trained briefly."""
    from cropkit.compute.splits import TRAIN
    from cropkit.datasets import select_split
    from cropkit.experiments.classifiers import get_model

    models = {}
    for name, settings in TINY.items():
        data = toy_pixels_of(toy_scene) if name == "ltae" else attention_patches
        inputs = {"attention3dcnn": ("s2", "s1"), "dual_stream": ("s2", "enmap")}.get(name, ("s2",))
        model = get_model(name, inputs=inputs, **settings)
        model.fit(select_split(data, TRAIN), progress=False)
        models[name] = (model, data)
    return models


# -- hand-made test predictions (confusion and error analysis) ------------------------------

WHEAT, DURUM, MAIZE, MEADOW = (
    "winter_soft_wheat",
    "winter_durum_wheat",
    "grain_maize",
    "permanent_meadow",
)


def _hand_frame(true, pred, parcel):
    import numpy as np
    import pandas as pd

    from cropkit.core.taxonomy import load_taxonomy

    tax = load_taxonomy()
    frame = pd.DataFrame({"row": 0, "col": np.arange(len(true)), "parcel": parcel, "split": 3})
    for level in (4, 3, 2, 1):
        frame[f"true_tier{level}"] = tax.roll_up(np.asarray(true), level)
        frame[f"pred_tier{level}"] = tax.roll_up(np.asarray(pred), level)
    return frame


@pytest.fixture()
def frame():
    """Twelve test pixels of four parcels with hand-checked predictions, every tier."""
    true = [WHEAT] * 6 + [DURUM] * 3 + [MAIZE] * 3
    pred = [WHEAT, WHEAT, WHEAT, WHEAT, DURUM, MAIZE, WHEAT, WHEAT, DURUM, MAIZE, MAIZE, MEADOW]
    parcel = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    return _hand_frame(true, pred, parcel)


#: An area of interest inside the Chartres "ci" demo: two zones of 2.4 km, 480 x 240 px
#: (reading, not the pixel count, sets the pace: a quarter of it runs as long, with
#: zones too small to hold every class).
DEMO_AOI = "1.516,48.3917,1.5797,48.4105"
#: The side of its hold-out zones (km).
DEMO_ZONE_KM = 2.4


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """Notebooks 01-06 run once by papermill on an AOI of the Chartres "ci" demo.

    Returns the run's config and the seconds per notebook. Shared by the notebook tests
    and the chaos tests (which work on copies of the run folder); under pytest-xdist, by
    every worker: the first to need it makes it while the others wait for it.
    """
    import fcntl
    import json

    from cropkit.config import RunConfig
    from cropkit.face.notebooks import run_notebooks

    shared = bool(os.environ.get("PYTEST_XDIST_WORKER"))
    root = tmp_path_factory.getbasetemp().parent if shared else tmp_path_factory.mktemp("demo")
    cfg = RunConfig(
        aoi=DEMO_AOI,  # most of the Chartres "ci" demo, so the run takes the AOI path
        zone_km=DEMO_ZONE_KM,
        year=2023,
        stac="demo",
        profile="ci",
        run_root=str(root / "demo-runs"),
    )
    # every notebook, in order, against one local STAC API; 04 with a small training budget
    fast = {
        "04": {"training": {"max_train_pixels": 4000, "epochs": 1, "train_minutes": 0.25}},
        "05": {"max_samples": 2000, "attribution_samples": 16, "attribution_steps": 8},
        "06": {"n_boot": 100},
    }
    from sockets import ListeningWatch

    done = root / "demo-run.json"
    with open(root / "demo-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker runs the notebooks, the others wait
        if not done.exists():
            with ListeningWatch() as watch:  # every server the run starts (test_notebooks.py)
                timings = run_notebooks(cfg, overrides=fast)
            made = {"timings": timings, "listeners": sorted(watch.opened)}
            done.write_text(json.dumps(made))
    made = json.loads(done.read_text())
    RUN_LISTENERS.update(tuple(socket) for socket in made["listeners"])
    return cfg, made["timings"]


#: The TCP sockets that the ``demo_run`` opened to listen on, as ``(address, port)``.
RUN_LISTENERS: set = set()
