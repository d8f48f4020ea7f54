"""Datasets: TensorDataset, ConcatDataset, ChainDataset, Subset, StackDataset, random_split
(against torch.utils.data where the behaviour is deterministic)."""
import warnings

import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
from ember.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                              Subset, TensorDataset, random_split)


class Squares(Dataset):
    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return (self.offset + i) ** 2


class Bulk(Squares):
    """Also fetches batches in one call; records the calls."""

    def __init__(self, n):
        super().__init__(n)
        self.calls = []

    def __getitems__(self, indices):
        self.calls.append(list(indices))
        return [i ** 2 for i in indices]


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def test_dataset_base():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement "
                                                  "__getitem__"):
        Dataset()[0]
    both = Squares(2) + Squares(3, offset=10)
    assert isinstance(both, ConcatDataset)
    assert [both[i] for i in range(5)] == [0, 1, 100, 121, 144]
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset) and list(chained) == [1, 2, 3]
    # subscripting works as with typing generics (Dataset[int] in annotations/subclasses)
    class Typed(Dataset[int]):
        pass
    assert issubclass(Typed, Dataset)


def test_tensor_dataset():
    x, y = ember.arange(12.).reshape(4, 3), ember.tensor([0, 1, 0, 1])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.tolist() == [6., 7., 8.] and yi.item() == 0
    # tensor indexing: slices and index lists give batches
    xs, ys = ds[1:3]
    assert xs.shape == (2, 3) and ys.tolist() == [1, 0]
    assert ds.tensors[0] is x
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, ember.zeros(3))


def test_concat_dataset():
    ds = ConcatDataset([Squares(2), Squares(0), Squares(3, offset=5)])
    assert ds.cumulative_sizes == [2, 2, 5] and len(ds) == 5
    assert [ds[i] for i in range(5)] == [0, 1, 25, 36, 49]
    assert [ds[-i] for i in range(1, 6)] == [49, 36, 25, 1, 0]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset "
                                         "length"):
        ds[-6]
    with pytest.raises(IndexError):
        ds[5]
    with pytest.warns(FutureWarning, match="renamed to `cumulative_sizes`"):
        assert ds.cummulative_sizes == [2, 2, 5]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Squares(1), Stream([1])])
    assert ConcatDataset.cumsum([Squares(3), Squares(4)]) == [3, 7]


@requires_torch
def test_concat_dataset_matches_torch():
    sizes = [3, 0, 4, 1]
    ours = ConcatDataset([Squares(n, offset=10 * k) for k, n in enumerate(sizes)])
    theirs = torch.utils.data.ConcatDataset([Squares(n, offset=10 * k)
                                             for k, n in enumerate(sizes)])
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]


def test_chain_dataset():
    ds = ChainDataset([Stream([1, 2]), Stream([]), Stream([3])])
    assert list(ds) == [1, 2, 3] and list(ds) == [1, 2, 3]
    assert len(ds) == 3
    bad = ChainDataset([Stream([1]), Squares(2)])
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(bad)
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        len(bad)


def test_subset():
    base = Squares(10)
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [49, 4, 25]
    assert sub.__getitems__([2, 0]) == [25, 49]
    # a list index is mapped through and handed to the dataset as one list
    t = TensorDataset(ember.arange(10))
    (picked,) = Subset(t, [9, 8, 7])[[0, 2]]
    assert picked.tolist() == [9, 7]
    # the batched path uses the inner dataset's __getitems__ when it has one
    bulk = Bulk(10)
    assert Subset(bulk, [4, 3])[1] == 9
    assert Subset(bulk, [4, 3]).__getitems__([0, 1]) == [16, 9]
    assert bulk.calls == [[4, 3]]


def test_subset_subclass_must_override_getitems():
    class Doubled(Subset):
        def __getitem__(self, i):
            return 2 * super().__getitem__(i)

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not "
                                                  "__getitems__"):
        Doubled(Squares(3), [0, 1])

    class Fine(Doubled):
        def __getitems__(self, indices):
            return [self[i] for i in indices]

    assert Fine(Squares(3), [2, 1]).__getitems__([0, 1]) == [8, 2]


def test_stack_dataset():
    a, b = Squares(3), Squares(3, offset=1)
    tup = StackDataset(a, b)
    assert len(tup) == 3 and tup[1] == (1, 4)
    assert tup.__getitems__([0, 2]) == [(0, 1), (4, 9)]
    named = StackDataset(x=a, y=b)
    assert named[2] == {"x": 4, "y": 9}
    assert named.__getitems__([1]) == [{"x": 1, "y": 4}]
    # inner __getitems__ is used, and its output length is checked
    bulk = Bulk(3)
    assert StackDataset(bulk, a).__getitems__([2, 1]) == [(4, 4), (1, 1)]
    assert bulk.calls == [[2, 1]]

    class Short(Squares):
        def __getitems__(self, indices):
            return [0]

    with pytest.raises(ValueError, match="Nested dataset's output size mismatch. Expected 2, "
                                         "got 1"):
        StackDataset(Short(3)).__getitems__([0, 1])


@pytest.mark.parametrize("args, kwargs, msg", [
    ((), {}, "At least one dataset should be passed"),
    ((Squares(2), Squares(3)), {}, "Size mismatch between datasets"),
    ((), {"a": Squares(2), "b": Squares(3)}, "Size mismatch between datasets"),
    ((Squares(2),), {"b": Squares(2)}, "Supported either ``tuple``- (via ``args``) or"),
])
def test_stack_dataset_errors(args, kwargs, msg):
    with pytest.raises(ValueError) as info:
        StackDataset(*args, **kwargs)
    assert msg in str(info.value)
    if torch is not None:
        with pytest.raises(ValueError) as tinfo:
            torch.utils.data.StackDataset(*args, **kwargs)
        assert str(info.value) == str(tinfo.value)


# ---------------------------------------------------------------------------------- split

def _indices(subsets):
    return [list(s.indices) for s in subsets]


def test_random_split_lengths():
    parts = random_split(Squares(10), [3, 7], generator=ember.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert all(isinstance(p, Subset) for p in parts)
    assert sorted(sum(_indices(parts), [])) == list(range(10))
    assert [p[0] for p in parts] == [parts[0].dataset[parts[0].indices[0]],
                                     parts[1].dataset[parts[1].indices[0]]]


@requires_torch
@pytest.mark.parametrize("n, fractions", [
    (10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.25, 0.25, 0.25, 0.25]), (5, [0.1, 0.1, 0.8]),
    (3, [1 / 3, 1 / 3, 1 / 3]), (2, [0.2, 0.3, 0.5]),
])
def test_random_split_fractions_match_torch(n, fractions):
    # the remainder of the floor is handed out round-robin from the first split
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = random_split(Squares(n), fractions, generator=ember.Generator())
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = torch.utils.data.random_split(Squares(n), fractions,
                                               generator=torch.Generator())
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in theirs_w]
    assert sorted(sum(_indices(ours), [])) == list(range(n))


def test_random_split_reproducible():
    a = random_split(Squares(20), [5, 15], generator=ember.Generator().manual_seed(3))
    b = random_split(Squares(20), [5, 15], generator=ember.Generator().manual_seed(3))
    c = random_split(Squares(20), [5, 15], generator=ember.Generator().manual_seed(4))
    assert _indices(a) == _indices(b) and _indices(a) != _indices(c)
    # the default generator is the global one: manual_seed reproduces the split
    ember.manual_seed(11)
    d = random_split(Squares(20), [0.5, 0.5])
    ember.manual_seed(11)
    e = random_split(Squares(20), [0.5, 0.5])
    assert _indices(d) == _indices(e)


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of "
                                         "the input dataset!"):
        random_split(Squares(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(Squares(5), [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        parts = random_split(Squares(1), [0.5, 0.5])
    assert [len(p) for p in parts] == [1, 0]


def test_dataset_items_are_numpy_friendly():
    # TensorDataset rows are views (no copies) of the stored tensor
    x = ember.arange(6.).reshape(3, 2)
    (row,) = TensorDataset(x)[1]
    assert np.shares_memory(row.numpy(), x.numpy())
