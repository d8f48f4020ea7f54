"""DataLoader in the main process (num_workers=0): argument validation against torch,
len(), batching, batch_size=None, drop_last, samplers, shuffling reproducibility,
iterable datasets. Worker processes are tested in test_dataloader_workers.py."""
import warnings

import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
from ember.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler,
                              SequentialSampler, TensorDataset, get_worker_info)


class Range(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


class Stream(IterableDataset):
    def __init__(self, n, length=None):
        self.n, self.length = n, length

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if self.length is None:
            raise TypeError("no length")
        return self.length


def _torch_stream(n, length=None):
    """Stream(n, length) as a torch IterableDataset (torch checks its own base class)."""
    cls = type("TorchStream", (torch.utils.data.IterableDataset,),
               {"__iter__": Stream.__iter__, "__len__": Stream.__len__})
    ds = cls()
    ds.n, ds.length = n, length
    return ds


def _values(loader):
    return [b.tolist() if isinstance(b, ember.Tensor) else b for b in loader]


# ------------------------------------------------------------------------ validation

VALIDATION = [
    ("map", dict(num_workers=-1), ValueError),
    ("map", dict(timeout=-1), ValueError),
    ("map", dict(prefetch_factor=2), ValueError),
    ("map", dict(num_workers=1, prefetch_factor=-1), ValueError),
    ("map", dict(persistent_workers=True), ValueError),
    ("map", dict(sampler="S", shuffle=True), ValueError),
    ("map", dict(batch_sampler="B", batch_size=2), ValueError),
    ("map", dict(batch_sampler="B", shuffle=True), ValueError),
    ("map", dict(batch_sampler="B", sampler="S"), ValueError),
    ("map", dict(batch_sampler="B", drop_last=True), ValueError),
    ("map", dict(batch_size=None, drop_last=True), ValueError),
    ("map", dict(multiprocessing_context="fork"), ValueError),
    ("map", dict(num_workers=1, multiprocessing_context="nope"), ValueError),
    ("map", dict(num_workers=1, multiprocessing_context=3), TypeError),
    ("map", dict(batch_size=0), ValueError),
    ("map", dict(batch_size=2, drop_last=1), ValueError),
    ("iter", dict(shuffle=True), ValueError),
    ("iter", dict(sampler="S"), ValueError),
    ("iter", dict(batch_sampler="B"), ValueError),
]


def _build(lib, kind, kwargs):
    if kind == "map":
        data = Range(4)
    elif lib is None:
        data = Stream(4)
    else:
        data = _torch_stream(4)
    kw = dict(kwargs)
    if kw.get("sampler") == "S":
        kw["sampler"] = (SequentialSampler if lib is None else
                         torch.utils.data.SequentialSampler)(range(4))
    if kw.get("batch_sampler") == "B":
        kw["batch_sampler"] = [[0, 1], [2, 3]]
    cls = DataLoader if lib is None else torch.utils.data.DataLoader
    return cls(data, **kw)


@pytest.mark.parametrize("kind, kwargs, exc", VALIDATION)
def test_argument_validation_matches_torch(kind, kwargs, exc):
    with pytest.raises(exc) as ours:
        _build(None, kind, kwargs)
    if torch is not None:
        with pytest.raises(exc) as theirs:
            _build(torch, kind, kwargs)
        # messages may embed an object's repr: compare up to it
        o, t = str(ours.value), str(theirs.value)
        cut = t.find(" object at 0x")
        if cut >= 0:
            o, t = o[:t.rfind("<", 0, cut)], t[:t.rfind("<", 0, cut)]
        assert o == t


def test_attributes_frozen_after_init():
    dl = DataLoader(Range(4), batch_size=2)
    for attr in ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                 "persistent_workers"):
        with pytest.raises(ValueError, match=f"{attr} attribute should not be set after "
                                             "DataLoader is initialized"):
            setattr(dl, attr, None)
    dl.num_workers = 0                  # others may change
    dl.collate_fn = list


def test_defaults_and_attributes():
    dl = DataLoader(Range(5))
    assert dl.batch_size == 1 and not dl.drop_last and dl.num_workers == 0
    assert dl.prefetch_factor is None and dl.timeout == 0 and dl.in_order
    assert isinstance(dl.sampler, SequentialSampler)
    assert isinstance(dl.batch_sampler, BatchSampler)
    assert isinstance(DataLoader(Range(5), shuffle=True).sampler, RandomSampler)
    assert DataLoader(Range(5), num_workers=1).prefetch_factor == 2
    assert DataLoader(Range(5), num_workers=2, prefetch_factor=0).prefetch_factor == 0
    ctx = DataLoader(Range(5), num_workers=1, multiprocessing_context="spawn")
    assert ctx.multiprocessing_context.get_start_method() == "spawn"
    bs = DataLoader(Range(5), batch_sampler=[[0, 1]])
    assert bs.batch_size is None and not bs.drop_last


# ------------------------------------------------------------------------ len and batching

@requires_torch
@pytest.mark.parametrize("n", [0, 1, 7, 8])
@pytest.mark.parametrize("batch_size", [None, 1, 3, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_and_batches_match_torch(n, batch_size, drop_last):
    if batch_size is None and drop_last:
        return
    ours = DataLoader(Range(n), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(Range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert _values(ours) == [b.tolist() if isinstance(b, torch.Tensor) else b for b in theirs]


@requires_torch
@pytest.mark.parametrize("length, batch_size, drop_last", [
    (10, 3, False), (10, 3, True), (10, None, False), (4, 4, True),
])
def test_len_iterable_dataset_matches_torch(length, batch_size, drop_last):
    ours = DataLoader(Stream(length, length), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(_torch_stream(length, length), batch_size=batch_size,
                                         drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert _values(ours) == [b.tolist() if isinstance(b, torch.Tensor) else b for b in theirs]


def test_len_iterable_without_len_raises():
    with pytest.raises(TypeError, match="no length"):
        len(DataLoader(Stream(3)))


def test_iterable_length_warning():
    dl = DataLoader(Stream(5, length=3), batch_size=None)
    assert len(dl) == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert list(dl) == [0, 1, 2, 3, 4]
    assert [str(w.message).split(" was ")[1] for w in caught] == [
        f"reported to be 3(when accessing len(dataloader)), but {k} samples have been fetched. "
        for k in (4, 5)]
    # no warning when len() was never asked
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(DataLoader(Stream(5, length=3), batch_size=None)) == [0, 1, 2, 3, 4]


def test_batching_tensor_dataset():
    x = ember.arange(20.).reshape(10, 2)
    y = ember.arange(10)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[1][1].tolist() == [4, 5, 6, 7] and batches[1][1].dtype == ember.int64
    dropped = list(DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True))
    assert len(dropped) == 2


def test_no_automatic_batching():
    # batch_size=None: samples one by one through default_convert (arrays -> tensors)
    class Arrays(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {"x": np.full(3, i, dtype=np.float32), "i": i}

    out = list(DataLoader(Arrays(), batch_size=None))
    assert isinstance(out[1]["x"], ember.Tensor) and out[1]["x"].dtype == ember.float32
    assert out[1]["i"] == 1
    # with a sampler, each index goes to __getitem__ alone
    assert _values(DataLoader(Range(5), batch_size=None, sampler=[4, 0])) == [4, 0]


def test_samplers_and_batch_samplers():
    assert _values(DataLoader(Range(10), batch_size=3, sampler=[9, 8, 7, 1])) == \
        [[9, 8, 7], [1]]
    assert _values(DataLoader(Range(10), batch_sampler=[[3, 1], [0]])) == [[3, 1], [0]]
    bs = BatchSampler(SequentialSampler(range(6)), 4, drop_last=True)
    dl = DataLoader(Range(6), batch_sampler=bs)
    assert len(dl) == 1 and _values(dl) == [[0, 1, 2, 3]]


def test_getitems_is_used_for_batches():
    class Bulk(Range):
        calls = 0

        def __getitems__(self, indices):
            Bulk.calls += 1
            return [10 * i for i in indices]

    assert _values(DataLoader(Bulk(5), batch_size=2)) == [[0, 10], [20, 30], [40]]
    assert Bulk.calls == 3


def test_custom_collate_fn():
    dl = DataLoader(Range(5), batch_size=2, collate_fn=lambda b: tuple(reversed(b)))
    assert list(dl) == [(1, 0), (3, 2), (4,)]
    assert list(DataLoader(Range(3), batch_size=None, collate_fn=str)) == ["0", "1", "2"]


def test_shuffle_reproducible_with_manual_seed_and_generator():
    def epoch(**kw):
        return sum(_values(DataLoader(Range(30), batch_size=4, shuffle=True, **kw)), [])

    ember.manual_seed(123)
    a, b = epoch(), epoch()
    ember.manual_seed(123)
    c, d = epoch(), epoch()
    assert a == c and b == d and a != b and sorted(a) == list(range(30))
    g = ember.Generator().manual_seed(9)
    e = epoch(generator=g)
    ember.manual_seed(0)                       # the global generator is not involved
    f = epoch(generator=ember.Generator().manual_seed(9))
    assert e == f and sorted(e) == list(range(30))
    # the same loader reshuffles every epoch
    dl = DataLoader(Range(30), batch_size=30, shuffle=True)
    assert _values(dl) != _values(dl)


def test_get_worker_info_is_none_in_main_process():
    seen = []

    class Probe(Range):
        def __getitem__(self, i):
            seen.append(get_worker_info())
            return i

    list(DataLoader(Probe(3)))
    assert seen == [None, None, None]


def test_pin_memory_accepted():
    x = ember.arange(6.).reshape(3, 2)
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no "
                                         "accelerator is found"):
        out = list(DataLoader(TensorDataset(x), batch_size=2, pin_memory=True))
    assert out[0][0].tolist() == [[0., 1.], [2., 3.]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(DataLoader(TensorDataset(x), pin_memory=True, pin_memory_device="cuda"))
    assert "pin_memory_device is deprecated" in str(caught[0].message)


def test_timeout_needs_workers():
    # as in PyTorch, a timeout without workers fails when iteration starts
    dl = DataLoader(Range(3), timeout=1)
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(dl)


def test_exception_in_main_process_propagates_unchanged():
    class Bad(Range):
        def __getitem__(self, i):
            raise KeyError(i)

    with pytest.raises(KeyError):
        next(iter(DataLoader(Bad(3))))


def test_iterator_cannot_be_pickled():
    import pickle
    with pytest.raises(NotImplementedError, match="cannot be pickled"):
        pickle.dumps(iter(DataLoader(Range(3))))


def test_worker_number_warning():
    import os
    n = len(os.sched_getaffinity(0)) + 1
    with pytest.warns(UserWarning, match=f"This DataLoader will create {n} worker processes"):
        DataLoader(Range(3), num_workers=n)
