import numpy as np
import pytest

from cropkit.compute.splits import TEST, TRAIN, VAL, zone_holdout
from cropkit.core.errors import ConfigError, DataError, UnknownModelError
from cropkit.datasets import pixel_dataset, select_split
from cropkit.datasets.sampling import balanced_subsample
from cropkit.experiments.classifiers import get_model, load_model
from cropkit.models import model_config, model_names
from cropkit.models.xgboost_pixel import (
    pixel_feature_names,
    pixel_features,
    resolve_device,
)


@pytest.fixture(scope="module")
def toy_pixels(toy_scene):
    split = zone_holdout(toy_scene["labels"], toy_scene["zones"], ["z2"], 0.25, block_px=20)
    ds = pixel_dataset(
        toy_scene["s2"], toy_scene["labels"], split, toy_scene["s1"], toy_scene["enmap"]
    )
    return ds


def test_registry_lists_names_and_rejects_unknown_ones():
    assert model_names() == [
        "attention3dcnn",
        "dual_stream",
        "ltae",
        "tempcnn",
        "tempcnn_unet",
        "utae",
        "xgboost",
    ]
    assert model_config("xgboost")["early_stopping_rounds"] == 30
    assert model_config("ltae")["model"]["n_head"] == 16
    assert model_config("utae")["trainer"]["balanced"] is False
    with pytest.raises(UnknownModelError, match=r"Unknown model 'nope'; registered models: "):
        get_model("nope")
    with pytest.raises(KeyError):  # also a KeyError, for code that catches those
        get_model("nope")
    with pytest.raises(ConfigError, match=r"no hyperparameters \['depth'\]"):
        get_model("xgboost", depth=3)
    model = get_model("xgboost", max_depth=3, inputs=["s2", "s1"])
    assert model.params["max_depth"] == 3 and model.inputs == ("s2", "s1")


def test_deep_models_route_overrides_to_their_sections():
    model = get_model("ltae", d_model=64, epochs=3, inputs="s2", seed=4)
    assert model.model_params["d_model"] == 64 and model.settings.epochs == 3
    assert model.inputs == ("s2",) and model.seed == 4 and model.kind == "pixel"
    assert get_model("utae").kind == "patch"
    sections = get_model("tempcnn", model={"width": 8}, trainer={"batch_size": 7})
    assert sections.model_params["width"] == 8 and sections.settings.batch_size == 7
    with pytest.raises(ConfigError, match=r"no settings \['depth'\]; its architecture"):
        get_model("ltae", depth=3)


def test_xgboost_fits_predicts_and_reloads_the_toy_scene(toy_pixels, tmp_path):
    train, val, test = (select_split(toy_pixels, c) for c in (TRAIN, VAL, TEST))
    model = get_model("xgboost", n_estimators=40, max_train_pixels=0, n_jobs=1).fit(train, val)
    proba = model.predict_proba(test)  # every class of the list; the 17 never grown get 0
    assert proba.shape == (test.sizes["sample"], 21)
    grown = np.unique(train["tier4"].values)
    assert grown.size == 4 and not np.delete(proba, grown, axis=1).any()
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    predicted = model.predict(test)
    assert (predicted == test["tier4"].values).mean() > 0.95  # four distinct seasons
    again = load_model(model.save(tmp_path / "xgboost"))
    assert (again.predict(test) == predicted).all()


def test_xgboost_features_and_inputs(toy_pixels):
    x = pixel_features(toy_pixels, ("s2", "s1", "enmap"))
    assert x.shape == (3200, 12 * 10 + 12 + 12 * 2 + 12 + 5) and x.dtype == np.float32
    ndvi = x[:, 120]
    b4, b8 = toy_pixels["s2"].values[:, 0, 2], toy_pixels["s2"].values[:, 0, 6]
    assert np.allclose(ndvi, (b8 - b4) / (b8 + b4), atol=1e-5)
    with pytest.raises(ConfigError, match="Unknown inputs"):
        pixel_features(toy_pixels, ("s3",))
    with pytest.raises(DataError, match=r"no \['s1'\] inputs"):
        pixel_features(toy_pixels.drop_vars("s1"), ("s2", "s1"))


def test_xgboost_early_stopping_uses_the_validation_set(toy_pixels):
    train, val = select_split(toy_pixels, TRAIN), select_split(toy_pixels, VAL)
    model = get_model("xgboost", n_estimators=500, early_stopping_rounds=5, n_jobs=1)
    model.fit(train, val)
    assert model.info["best_iteration"] < 499  # stopped long before the last round
    no_val = get_model("xgboost", n_estimators=20, n_jobs=1).fit(train)
    assert no_val.info["best_iteration"] == 19


def test_xgboost_needs_two_classes(toy_pixels):
    train = select_split(toy_pixels, TRAIN)
    first = np.unique(train["tier4"].values)[0]  # a class of the four grown
    one = train.isel(sample=np.flatnonzero(train["tier4"].values == first))
    with pytest.raises(DataError, match="has 1 tier4 class"):
        get_model("xgboost").fit(one)


def test_balanced_subsample_shares_the_budget():
    y = np.array([0] * 1000 + [1] * 50 + [2] * 300)
    picked = balanced_subsample(y, 300, seed=0)
    assert np.bincount(y[picked]).tolist() == [125, 50, 125]
    assert balanced_subsample(y, 0).size == y.size


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ConfigError, match="device must be"):
        resolve_device("tpu")


def test_xgboost_trains_on_a_dask_cluster(toy_pixels):
    from distributed import Client, LocalCluster

    train = select_split(toy_pixels, TRAIN).chunk({"sample": 500})
    test = select_split(toy_pixels, TEST)
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        with Client(cluster) as client:
            model = get_model("xgboost", n_estimators=30, early_stopping_rounds=0)
            model.fit(train, client=client)
    assert model.info["dask"] and model.info["train_pixels"] == train.sizes["sample"]
    assert (model.predict(test) == test["tier4"].values).mean() > 0.95


def test_xgboost_with_enmap_saves_and_reloads_its_projection(toy_pixels, tmp_path):
    train, test = select_split(toy_pixels, TRAIN), select_split(toy_pixels, TEST)
    model = get_model("xgboost", n_estimators=20, inputs=("s2", "enmap"), enmap_components=4)
    model.fit(train)
    names = model.feature_names(test)
    assert names[-7:] == ["enmap_ld1", "enmap_ld2", "enmap_ld3"] + [
        f"enmap_pc{i}" for i in range(1, 5)
    ]
    assert model.features(test).shape == (test.sizes["sample"], len(names))
    again = load_model(model.save(tmp_path / "with-enmap"))
    assert np.allclose(again.predict_proba(test), model.predict_proba(test))
    assert set(model.feature_importance(test)) <= set(names)


def test_two_class_models_give_both_probabilities(toy_pixels):
    train, test = select_split(toy_pixels, TRAIN), select_split(toy_pixels, TEST)
    pair = np.unique(train["tier4"].values)[[0, 2]]  # two of the four grown classes
    two = train.isel(sample=np.flatnonzero(np.isin(train["tier4"].values, pair)))
    model = get_model("xgboost", n_estimators=20, n_jobs=1).fit(two)
    proba = model.predict_proba(test)  # over every class of the taxonomy; unseen ones 0
    assert proba.shape == (test.sizes["sample"], len(model.spec.classes["tier4"]))
    assert np.allclose(proba.sum(axis=1), 1)
    assert (proba[:, pair] > 0).all() and not np.delete(proba, pair, axis=1).any()
    seen = np.isin(test["tier4"].values, pair)
    assert (model.predict(test)[seen] == test["tier4"].values[seen]).mean() > 0.95


def test_missing_inputs_are_named_before_training(toy_pixels):
    train = select_split(toy_pixels, TRAIN)
    with pytest.raises(DataError, match=r"no \['enmap'\] inputs"):
        get_model("xgboost", inputs=("s2", "enmap")).fit(train.drop_vars("enmap"))
    only_enmap = get_model("xgboost", n_estimators=5, inputs=("enmap",), enmap_components=3)
    assert only_enmap.fit(train).features(train).shape[1] == 3 + 3  # 3 discriminants + 3 PCs


def test_feature_names_follow_the_feature_layout(toy_scene):
    split = zone_holdout(toy_scene["labels"], toy_scene["zones"], ["z2"], 0.25, block_px=20)
    ds = pixel_dataset(
        toy_scene["s2"], toy_scene["labels"], split, s1=toy_scene["s1"], enmap=toy_scene["enmap"]
    )
    names = pixel_feature_names(ds, ("s2", "s1", "enmap"))
    assert len(names) == 12 * 10 + 12 + 12 * 2 + 12 + 5
    assert names[:2] == ["B02_t00", "B03_t00"] and names[120] == "NDVI_t00"
    assert names[-1] == "enmap_850nm"


def test_every_package_module_is_reachable_from_the_top():
    import pkgutil

    import cropkit

    names = {m.name for m in pkgutil.iter_modules(cropkit.__path__)} - {"__main__", "cli"}
    assert names <= set(dir(cropkit)), sorted(names - set(dir(cropkit)))


@pytest.mark.parametrize("name", model_names())
def test_every_registered_model_keeps_the_one_classifier_contract(name):
    from cropkit.models import Classifier, model_inputs, model_kind

    model = get_model(name)
    assert isinstance(model, Classifier)  # fit, predict, predict_proba, save, load, info ...
    assert model.name == name and model.spec is None and model.is_global_zero
    assert (model.kind, tuple(model.supported_inputs)) == (model_kind(name), model_inputs(name))


@pytest.mark.parametrize("name", [n for n in model_names() if get_model(n).hierarchical])
def test_every_hierarchical_model_answers_tiers_that_nest(name, tiny_attention_models):
    from cropkit.models.hierarchy import tier_agreement

    assert name in tiny_attention_models, f"add {name} to conftest.TINY to test it"
    model, data = tiny_attention_models[name]
    joint = model.predict_tiers(data)
    labelled = data["tier4"].values >= 0
    assert (
        tier_agreement({t: v[labelled] for t, v in joint.items()}, model.spec.parents)["all"] == 1.0
    )
    heads = model.predict_tiers(data, decoding="independent")
    assert set(heads) == set(joint) == {"tier1", "tier2", "tier3", "tier4"}
    with pytest.raises(ConfigError, match="decoding must be 'joint' or 'independent'"):
        model.predict_tiers(data, decoding="greedy")
