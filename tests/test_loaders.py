import pytest
import torch

from cropkit.core.errors import DataError
from cropkit.datasets.loaders import BatchIndexSampler, balanced_weights, make_loader
from cropkit.datasets.torchdata import TensorStreams, loss_weights


def test_balanced_draws_bring_rare_classes_up_as_often():
    y = torch.tensor([0] * 900 + [1] * 100)
    sampler = BatchIndexSampler(1000, 500, weights=balanced_weights(y), num_samples=20000)
    drawn = y[torch.cat(list(sampler))]
    assert (drawn == 1).float().mean().item() == pytest.approx(0.5, abs=0.02)
    plain = BatchIndexSampler(1000, 500, weights=balanced_weights(y, power=0.0), num_samples=20000)
    assert (y[torch.cat(list(plain))] == 1).float().mean().item() == pytest.approx(0.1, abs=0.01)
    # n / (K n_c) = 0.556 and 5, scaled to mean 1
    assert loss_weights(y.numpy(), 2, power=1.0).tolist() == pytest.approx([0.2, 1.8])


def test_sampler_order_depends_on_seed_and_epoch_only():
    a, b = BatchIndexSampler(100, 30, seed=3), BatchIndexSampler(100, 30, seed=3)
    first = torch.cat(list(a))
    assert sorted(first.tolist()) == list(range(100)) and len(a) == 4
    b.set_epoch(1)
    assert not torch.equal(first, torch.cat(list(b)))
    b.set_epoch(0)
    assert torch.equal(first, torch.cat(list(b)))
    ordered = torch.cat(list(BatchIndexSampler(10, 4, shuffle=False)))
    assert ordered.tolist() == list(range(10))


def test_loader_serves_whole_batches(toy_train_side):
    streams = TensorStreams(toy_train_side, ("s2",))
    batch = next(iter(make_loader(streams, batch_size=64, balanced=True)))
    assert batch["s2"].shape == (64, 12, 10) and batch["tier4"].shape == (64,)


def test_balanced_sampling_of_patches_is_refused_clearly(toy_patches):
    streams = TensorStreams(toy_patches, ("s2",))
    with pytest.raises(DataError, match="use balanced=False with patches"):
        make_loader(streams, balanced=True)
    assert next(iter(make_loader(streams, batch_size=4)))["tier4"].shape == (4, 8, 8)
