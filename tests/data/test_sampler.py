"""Samplers: order, lengths, reproducibility (manual_seed, generator=), errors against
torch.utils.data, and DistributedSampler's padding/truncation against torch."""
from collections import Counter

import pytest
from oracle import requires_torch, torch

import ember
from ember.utils.data import (BatchSampler, DistributedSampler, RandomSampler, Sampler,
                              SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)


def _same_error(ember_call, torch_call, exc_type):
    """Both calls raise ``exc_type`` with the same message (torch only when installed)."""
    with pytest.raises(exc_type) as ours:
        ember_call()
    if torch is not None:
        with pytest.raises(exc_type) as theirs:
            torch_call()
        assert str(ours.value) == str(theirs.value)
    return str(ours.value)


def test_sampler_base():
    class NoIter(Sampler):
        pass

    with pytest.raises(NotImplementedError):
        iter(NoIter())
    with pytest.raises(TypeError):
        len(NoIter())


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    assert list(SequentialSampler([])) == []


def test_random_sampler_permutation_and_reproducibility():
    data = range(20)
    perm = list(RandomSampler(data, generator=ember.Generator().manual_seed(0)))
    assert sorted(perm) == list(range(20)) and perm != list(range(20))
    assert perm == list(RandomSampler(data, generator=ember.Generator().manual_seed(0)))
    # without a generator the global one seeds each pass: manual_seed reproduces it
    ember.manual_seed(5)
    a = list(RandomSampler(data))
    b = list(RandomSampler(data))
    ember.manual_seed(5)
    assert list(RandomSampler(data)) == a and a != b
    # a given generator advances: two passes differ
    g = ember.Generator().manual_seed(1)
    s = RandomSampler(data, generator=g)
    assert list(s) != list(s)


def test_random_sampler_num_samples_and_replacement():
    # without replacement, more samples than items chain whole permutations
    s = RandomSampler(range(4), num_samples=10, generator=ember.Generator().manual_seed(2))
    out = list(s)
    assert len(s) == 10 and len(out) == 10
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]
    assert len(set(out[8:])) == 2
    r = RandomSampler(range(3), replacement=True, num_samples=100,
                      generator=ember.Generator().manual_seed(2))
    drawn = list(r)
    assert len(drawn) == 100 and set(drawn) == {0, 1, 2}
    assert all(isinstance(i, int) for i in drawn)
    assert len(list(RandomSampler(range(3), replacement=True, num_samples=64))) == 64


@pytest.mark.parametrize("kwargs, exc", [
    (dict(replacement=1), TypeError),
    (dict(replacement=None), TypeError),
    (dict(num_samples=0), ValueError),
    (dict(num_samples=-3), ValueError),
    (dict(num_samples=2.0), ValueError),
])
def test_random_sampler_errors(kwargs, exc):
    _same_error(lambda: RandomSampler(range(3), **kwargs),
                lambda: torch.utils.data.RandomSampler(range(3), **kwargs), exc)


def test_random_sampler_empty_dataset():
    msg = _same_error(lambda: RandomSampler([]),
                      lambda: torch.utils.data.RandomSampler([]), ValueError)
    assert "num_samples=0" in msg


def test_subset_random_sampler():
    idx = [10, 20, 30, 40]
    s = SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0))
    out = list(s)
    assert sorted(out) == idx and len(s) == 4
    assert out == list(SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0)))
    ember.manual_seed(3)
    a = list(SubsetRandomSampler(idx))
    ember.manual_seed(3)
    assert list(SubsetRandomSampler(idx)) == a


def test_weighted_random_sampler():
    w = [0.0, 1.0, 3.0, 0.0]
    s = WeightedRandomSampler(w, 2000, generator=ember.Generator().manual_seed(0))
    counts = Counter(s)
    assert set(counts) == {1, 2} and len(s) == 2000
    assert 0.65 < counts[2] / 2000 < 0.85         # expected 0.75; sd ~0.01
    s = WeightedRandomSampler([1, 2, 3, 4, 5], 5, replacement=False)
    assert sorted(s) == [0, 1, 2, 3, 4]
    assert s.weights.dtype == ember.float64
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    assert list(WeightedRandomSampler(w, 9, generator=g1)) == \
        list(WeightedRandomSampler(w, 9, generator=g2))


@pytest.mark.parametrize("args, kwargs", [
    (([1.0, 2.0], 0), {}),
    (([1.0, 2.0], True), {}),
    (([1.0, 2.0], 2.5), {}),
    (([1.0, 2.0], 2), dict(replacement=0)),
    (([[1.0, 2.0]], 2), {}),
])
def test_weighted_random_sampler_errors(args, kwargs):
    _same_error(lambda: WeightedRandomSampler(*args, **kwargs),
                lambda: torch.utils.data.WeightedRandomSampler(*args, **kwargs), ValueError)


@requires_torch
@pytest.mark.parametrize("n", [0, 1, 9, 10, 11])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 12])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(range(n), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs) == len(list(ours))


def test_batch_sampler_any_iterable():
    assert list(BatchSampler(iter("abcde"), 2, False)) == [["a", "b"], ["c", "d"], ["e"]]
    assert list(BatchSampler([3, 1, 2], 2, True)) == [[3, 1]]


@pytest.mark.parametrize("args", [(0, False), (-1, False), (2.0, False), (True, False),
                                  (2, 1), (2, None)])
def test_batch_sampler_errors(args):
    _same_error(lambda: BatchSampler(range(4), *args),
                lambda: torch.utils.data.BatchSampler(range(4), *args), ValueError)


# -------------------------------------------------------------------- DistributedSampler

@requires_torch
@pytest.mark.parametrize("n", [1, 2, 7, 8, 10])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_unshuffled_matches_torch(n, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                                     drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


def test_distributed_sampler_padding_when_replicas_exceed_samples():
    shares = [list(DistributedSampler(range(2), 5, r, shuffle=False)) for r in range(5)]
    assert shares == [[0], [1], [0], [1], [0]]


@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shuffled(drop_last):
    n, k = 11, 3
    shares = [list(DistributedSampler(range(n), k, r, seed=4, drop_last=drop_last))
              for r in range(k)]
    flat = sum(shares, [])
    if drop_last:
        assert len(flat) == 9 and len(set(flat)) == 9          # disjoint, tail dropped
    else:
        assert len(flat) == 12 and set(flat) == set(range(n))  # every index, one repeat
    # every replica uses the same permutation: same seed and epoch, same shares
    again = [list(DistributedSampler(range(n), k, r, seed=4, drop_last=drop_last))
             for r in range(k)]
    assert again == shares
    s = DistributedSampler(range(n), k, 0, seed=4, drop_last=drop_last)
    first = list(s)
    assert list(s) == first                  # same epoch, same order
    s.set_epoch(1)
    assert s.epoch == 1 and list(s) != first
    other_seed = DistributedSampler(range(n), k, 0, seed=5, drop_last=drop_last)
    assert list(other_seed) != first


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match="num_replicas and rank must be given"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="rank must be given"):
        DistributedSampler(range(4), num_replicas=2)
    with pytest.raises(ValueError, match="num_replicas must be given"):
        DistributedSampler(range(4), rank=0)
    for rank in (2, -1):
        _same_error(lambda r=rank: DistributedSampler(range(4), 2, r),
                    lambda r=rank: torch.utils.data.DistributedSampler(range(4), 2, r),
                    ValueError)
