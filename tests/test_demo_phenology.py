import numpy as np

from cropkit.demo.phenology import crop_parameters, deciduous_trajectory, parcel_trajectories

DOY = np.arange(1, 366, dtype=float)


def traj(crop, n=20, seed=0, **kw):
    return parcel_trajectories(np.array([crop] * n), DOY, np.random.default_rng(seed), **kw)


def test_every_crop_has_a_pattern():
    params = crop_parameters()
    assert set(params["pattern"]) == {"winter", "spring", "summer", "grass", "perennial", "fallow"}
    assert len(params) == 21


def test_winter_wheat_peaks_in_spring_and_is_gone_after_harvest():
    t = traj("winter_soft_wheat")
    peak = DOY[t.lai.argmax(axis=1)]
    assert np.all((peak > 110) & (peak < 175))
    assert np.all(t.lai[:, 0] < 1.2)  # small winter canopy
    assert np.all(t.lai[:, 0] > 0.1)
    august = (DOY >= 228) & (DOY <= 240)
    assert np.all(t.lai[:, august] < 1.0)


def test_maize_is_a_summer_crop():
    t = traj("grain_maize")
    assert np.all(t.lai[:, DOY < 120] < 1.5)
    peak = DOY[t.lai.argmax(axis=1)]
    assert np.all((peak > 190) & (peak < 260))


def test_silage_maize_is_harvested_green_before_grain_maize():
    grain, silage = traj("grain_maize"), traj("silage_maize")
    sept = (DOY > 262) & (DOY < 272)
    assert silage.lai[:, sept].mean() < 1.0 < 2.5 < grain.lai[:, sept].mean()
    # grain maize dries on the stalk first
    assert grain.brown[:, (DOY > 270) & (DOY < 285)].mean() > 0.8


def test_barley_ripens_before_wheat():
    wheat, barley = traj("winter_soft_wheat", n=60), traj("winter_barley", n=60)
    july = (DOY > 178) & (DOY < 186)
    assert barley.brown[:, july].mean() > wheat.brown[:, july].mean()


def test_mowing_drops_leaf_area():
    t = traj("temporary_meadow", n=40)
    drops = np.diff(t.lai, axis=1).min(axis=1)
    assert np.median(drops) < -1.5  # cut in one day


def test_rapeseed_flowers_in_spring():
    t = traj("winter_rapeseed")
    peak = DOY[t.flower.argmax(axis=1)]
    assert np.all((peak > 85) & (peak < 135))
    assert t.flower.max() > 0.4
    assert traj("winter_soft_wheat").flower.max() == 0


def test_vineyards_have_an_inter_row():
    t = traj("wine_vineyard")
    assert np.all(t.lai[:, DOY < 60] < 0.1)  # leafless in winter
    assert np.any(t.under_lai > 0)


def test_same_seed_same_trajectories():
    a, b = traj("sunflower", seed=3), traj("sunflower", seed=3)
    np.testing.assert_array_equal(a.lai, b.lai)
    assert not np.array_equal(a.lai, traj("sunflower", seed=4).lai)


def test_deciduous_forest_is_leafless_in_winter():
    lai, brown = deciduous_trajectory("forest", DOY)
    assert lai[15] < 1.5 < 4.0 < lai[200]
    assert brown.argmax() > 250


def test_zones_shift_the_season_as_a_whole():
    crops = np.array(["winter_soft_wheat"] * 400)
    zone = np.repeat([0, 1], 200)
    t = parcel_trajectories(crops, DOY, np.random.default_rng(5), zone=zone)
    half_green = np.argmax(t.lai > 3.0, axis=1)  # day the canopy passes LAI 3
    gap = abs(np.median(half_green[:200]) - np.median(half_green[200:]))
    spread_within = np.std(half_green[:200])
    assert gap > 2 and spread_within > 5  # zones differ; parcels within a zone differ more
    same = parcel_trajectories(crops, DOY, np.random.default_rng(5))
    assert not np.array_equal(same.lai, t.lai)


WINTER_DOY = np.arange(1 - 92, 366, dtype=float)  # 1 October of the year before on


def test_the_autumn_before_sows_winter_crops_and_keeps_the_calendar_year_unchanged():
    rng = np.random.default_rng
    crops = np.array(["winter_soft_wheat"] * 10 + ["grain_maize"] * 10 + ["permanent_meadow"] * 5)
    long = parcel_trajectories(crops, WINTER_DOY, rng(0))
    year = parcel_trajectories(crops, DOY, rng(0))
    np.testing.assert_array_equal(long.lai[:, 92:], year.lai)  # same draws, same year
    wheat, maize, meadow = long.lai[:10], long.lai[10:20], long.lai[20:]
    october, december = WINTER_DOY < -70, (WINTER_DOY > -20) & (WINTER_DOY < 1)
    assert wheat[:, october].mean() < 0.3  # bare after the previous harvest, then sown
    assert 0.2 < wheat[:, december].mean() < 1.2  # emerged, small winter canopy
    assert long.tilled[:10, WINTER_DOY < 1].any(axis=1).all()  # seedbed prepared
    # no jump at New Year
    assert np.abs(wheat[:, 92] - wheat[:, 91]).max() < 0.2
    assert np.abs(maize[:, 92] - maize[:, 91]).max() < 0.2
    assert meadow[:, october].mean() > 1.0  # grass stays green in autumn
