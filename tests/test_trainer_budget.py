import math
from types import SimpleNamespace

import pytest

from cropkit.compute.splits import TRAIN, VAL, zone_holdout
from cropkit.datasets import pixel_dataset, select_split
from cropkit.experiments.classifiers import get_model
from cropkit.trainer import budget
from cropkit.trainer.budget import sized_batches, stopped_by, time_budget


class Clock:
    """A stand-in for time.perf_counter that the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture()
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(budget.time, "perf_counter", clock)
    return clock


def started_fit(minutes, epochs):
    """A time budget on a stand-in trainer and module, at the start of the fit."""
    callback = time_budget(minutes=minutes, epochs=epochs)
    trainer = SimpleNamespace(current_epoch=0, fit_loop=SimpleNamespace(max_epochs=epochs))
    module = SimpleNamespace(plan={"epochs": epochs})
    callback.on_train_start(trainer, module)
    return callback, trainer, module


def test_the_plan_fits_the_budget_and_only_ever_shrinks(clock):
    callback, trainer, module = started_fit(minutes=1, epochs=30)
    clock.now = 10.0  # the first epoch took 10 s: 6 fit in 60 s
    callback.on_train_epoch_end(trainer, module)
    assert module.plan == {"epochs": 6, "fitted": True, "replanned": 0}
    assert trainer.fit_loop.max_epochs == 6
    trainer.current_epoch, clock.now = 1, 18.0  # faster now: the plan does not grow
    callback.on_train_epoch_end(trainer, module)
    assert module.plan["epochs"] == 6
    trainer.current_epoch, clock.now = 2, 45.0  # 15 s an epoch: 4 in all
    callback.on_train_epoch_end(trainer, module)
    assert module.plan == {"epochs": 4, "fitted": True, "replanned": 1}
    assert trainer.fit_loop.max_epochs == 4
    trainer.current_epoch, clock.now = 3, 200.0  # past the budget: stop after this one
    callback.on_train_epoch_end(trainer, module)
    assert module.plan["epochs"] == 4


def test_a_budget_larger_than_the_epochs_keeps_the_epochs(clock):
    callback, trainer, module = started_fit(minutes=60, epochs=5)
    clock.now = 1.0
    callback.on_train_epoch_end(trainer, module)
    assert module.plan["epochs"] == 5 and trainer.fit_loop.max_epochs == 5
    module.plan["epochs"] = 3  # a resumed fit takes the checkpoint's plan
    resumed = SimpleNamespace(current_epoch=2, fit_loop=SimpleNamespace(max_epochs=5))
    callback.on_train_start(resumed, module)
    assert resumed.fit_loop.max_epochs == 3


@pytest.mark.parametrize(
    ("n", "batch", "draws"),
    [(300, 32, 3000), (100, 32, 2048), (5_000, 128, 50_000), (60_000, 512, 100_000)],
)
def test_batches_and_draws_are_sized_from_the_training_set(n, batch, draws):
    assert sized_batches(n, "auto", "auto")[:2] == (batch, draws)
    assert sized_batches(n, "auto", "auto")[2] == {
        "batch_size": batch,
        "samples_per_epoch": draws,
        "sized_from_samples": n,
    }
    assert sized_batches(n, 64, 0) == (64, 0, {})  # numbers are kept as given


def test_the_limit_that_stopped_a_fit_is_named():
    assert stopped_by(30, 30, 30, False) == "epochs"
    assert stopped_by(8, 8, 30, False) == "time_budget"
    assert stopped_by(5, 8, 30, False) == "time_cap"
    assert stopped_by(12, 30, 30, True) == "early_stopping"
    assert set(budget.STOP_REASONS) == {"epochs", "time_budget", "time_cap", "early_stopping"}


@pytest.fixture(scope="module")
def sides(toy_scene):
    labels = toy_scene["labels"]
    split = zone_holdout(labels, toy_scene["zones"], ["z2"], 0.25, block_px=20)
    pixels = pixel_dataset(toy_scene["s2"], labels, split)
    return select_split(pixels, TRAIN), select_split(pixels, VAL)


def test_the_schedule_is_laid_over_the_planned_epochs():
    import torch

    from cropkit.models import model_config
    from cropkit.trainer.module import lightning_module
    from cropkit.trainer.settings import TrainerSettings

    settings = TrainerSettings(**{**model_config("ltae")["trainer"], "epochs": 30})
    network = torch.nn.Linear(2, 2)
    seen = torch.ones(2, dtype=torch.bool)
    module = lightning_module(network, torch.nn.Identity(), {}, seen, settings, 10, 0)
    scheduler = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    peak = settings.learning_rate
    module.plan["epochs"] = 4  # what time_budget plans when 4 epochs fit
    rates = []
    for _ in range(40):
        rates.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    assert rates[9] == pytest.approx(peak)  # warm-up over the first epoch
    assert rates[25] == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 15 / 30)))
    assert rates[39] < 0.01 * peak  # the cosine ends with the fourth epoch, not the 30th


def test_a_capped_fit_names_its_limit_and_keeps_lightning_quiet(sides, capfd):
    train, val = sides
    model = get_model("tempcnn", epochs=200, max_minutes=0.05, patience=1000)
    model.fit(train, val, progress=False)
    info = model.info
    assert info["stopped_by"] in ("time_budget", "time_cap")
    assert 1 <= info["epochs"] <= info["epochs_planned"] < 200
    n = len(train["tier4"])
    batch, draws, _ = sized_batches(n, "auto", "auto")
    assert (info["batch_size"], info["samples_per_epoch"]) == (batch, draws)
    assert info["sized"]["sized_from_samples"] == n
    err = capfd.readouterr().err
    assert "GPU available" not in err and "Trainer.fit" not in err  # Lightning's notes


def test_an_uncapped_fit_runs_its_epochs(sides):
    train, _ = sides
    model = get_model("ltae", epochs=2, samples_per_epoch=256).fit(train, progress=False)
    assert model.info["stopped_by"] == "epochs" and model.info["epochs"] == 2
    assert model.info["epochs_planned"] == 2 and "sized" in model.info  # the batch was sized
