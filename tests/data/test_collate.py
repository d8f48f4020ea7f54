"""default_collate / default_convert / collate against torch.utils.data: structure,
container types, dtypes and values of nested batches, and the error messages."""
import collections
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
from ember.utils.data import default_collate, default_convert
from ember.utils.data._utils.collate import collate, default_collate_fn_map

Point = namedtuple("Point", ["x", "y"])


class Record(dict):
    """A dict subclass with an attribute: collation keeps the type and the attribute."""
    tag = None


def _to_torch(obj):
    """The same sample built from torch tensors (ember tensors converted, the rest as is)."""
    if isinstance(obj, ember.Tensor):
        return torch.from_numpy(np.array(obj.numpy()))
    if isinstance(obj, Point):
        return Point(*(_to_torch(v) for v in obj))
    if isinstance(obj, dict):
        out = type(obj)((k, _to_torch(v)) for k, v in obj.items())
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_torch(v) for v in obj)
    return obj


def assert_same_structure(ours, theirs, path="batch"):
    """Container types, keys, lengths, tensor dtypes/shapes/values all equal."""
    if torch is not None and isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ember.Tensor), f"{path}: {type(ours)} is not a tensor"
        assert ours.dtype.name == str(theirs.dtype).split(".")[-1], \
            f"{path}: dtype {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: shape"
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=path)
        return
    assert type(ours) is type(theirs), f"{path}: {type(ours)} != {type(theirs)}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), f"{path}: keys"
        for k in theirs:
            assert_same_structure(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), f"{path}: length"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same_structure(o, t, f"{path}[{i}]")
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs, f"{path}: {ours!r} != {theirs!r}"


SAMPLES = {
    "ints": [1, 2, 3],
    "bools": [True, False],
    "floats": [1.5, 2.5],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "np_scalars_f32": [np.float32(1.5), np.float32(-2)],
    "np_scalars_i16": [np.int16(3), np.int16(4)],
    "np_bool": [np.bool_(True), np.bool_(False)],
    "np_arrays": [np.arange(6, dtype=np.float32).reshape(2, 3),
                  np.ones((2, 3), dtype=np.float32)],
    "np_0d": [np.array(1.0), np.array(2.0)],
    "np_uint8": [np.array([1, 2], dtype=np.uint8), np.array([3, 4], dtype=np.uint8)],
    "tensors": [ember.tensor([1., 2.]), ember.tensor([3., 4.])],
    "tensors_0d": [ember.tensor(1), ember.tensor(2)],
    "tensors_f64": [ember.ones(2, 2, dtype=ember.float64), ember.zeros(2, 2,
                                                                       dtype=ember.float64)],
    "tuples": [(ember.tensor([1]), 2, "x"), (ember.tensor([3]), 4, "y")],
    "lists": [[1, 2.5], [3, 4.5]],
    "dicts": [{"a": ember.tensor([1.]), "b": 1, "c": {"d": 0.5}},
              {"a": ember.tensor([2.]), "b": 2, "c": {"d": 1.5}}],
    "ordered": [OrderedDict(z=1, a=2), OrderedDict(z=3, a=4)],
    "namedtuple": [Point(1, ember.tensor([1.])), Point(2, ember.tensor([2.]))],
    "nested": [{"img": np.zeros((2, 2), np.float32), "meta": [(1, "a"), Point(0.5, 1)]},
               {"img": np.ones((2, 2), np.float32), "meta": [(2, "b"), Point(1.5, 2)]}],
}


@requires_torch
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_default_collate_matches_torch(name):
    batch = SAMPLES[name]
    ours = default_collate(batch)
    theirs = torch.utils.data.default_collate(_to_torch(batch))
    assert_same_structure(ours, theirs)


@requires_torch
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_default_convert_matches_torch(name):
    sample = SAMPLES[name][0]
    ours = default_convert(sample)
    theirs = torch.utils.data.default_convert(_to_torch(sample))
    assert_same_structure(ours, theirs)


def test_python_numbers_dtypes():
    # Python floats are doubles: float64, not the default dtype; ints int64; bools bool
    out = default_collate([1.5, 2.5])
    assert out.dtype == ember.float64 and out.tolist() == [1.5, 2.5]
    assert default_collate([1, 2]).dtype == ember.int64
    assert default_collate([True, False]).dtype == ember.bool


def test_collate_stacks_tensors():
    a, b = ember.arange(6.).reshape(2, 3), ember.ones(2, 3)
    out = default_collate([a, b])
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), np.stack([a.numpy(), b.numpy()]))
    # mixed dtypes promote, as ember.stack does
    assert default_collate([ember.tensor([1]), ember.tensor([1.5])]).dtype == ember.float32
    # a tensor that requires grad stays connected to the graph in the main process
    w = ember.ones(2, requires_grad=True)
    stacked = default_collate([w, w * 2])
    assert stacked.requires_grad
    stacked.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_collate_keeps_container_types():
    rec = Record(a=1)
    rec.tag = "kept"
    out = default_collate([rec, Record(a=2)])
    assert type(out) is Record and out.tag == "kept" and out["a"].tolist() == [1, 2]
    dd = collections.defaultdict(int, a=1.0)
    out = default_collate([dd, collections.defaultdict(int, a=2.0)])
    assert type(out) is collections.defaultdict and out["a"].dtype == ember.float64
    # a tuple of fields gives a list (PyTorch's behaviour), a namedtuple keeps its type
    assert type(default_collate([(1, 2), (3, 4)])) is list
    out = default_collate([Point(1, 2), Point(3, 4)])
    assert type(out) is Point and out.y.tolist() == [2, 4]


def test_collate_error_messages_match_torch():
    cases = [
        ([ember.zeros(3), ember.zeros(2)], RuntimeError,
         "stack expects each tensor to be equal size, but got [3] at entry 0 and [2] at "
         "entry 1"),
        ([[1, 2], [3]], RuntimeError, "each element in list of batch should be of equal size"),
        ([object(), object()], TypeError,
         "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
         "found <class 'object'>"),
        ([np.array(["a"]), np.array(["b"])], TypeError,
         "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
         "found <U1"),
        ([np.array([None]), np.array([1])], TypeError, "found object"),
        ([None, None], TypeError, "found <class 'NoneType'>"),
    ]
    for batch, exc, msg in cases:
        with pytest.raises(exc) as ours:
            default_collate(batch)
        assert msg in str(ours.value)
        if torch is not None:
            with pytest.raises(exc) as theirs:
                torch.utils.data.default_collate(_to_torch(batch))
            assert str(ours.value) == str(theirs.value)


def test_default_convert_passthrough():
    strs = np.array(["a", "b"])
    assert default_convert(strs) is strs
    t = ember.ones(2)
    assert default_convert(t) is t
    arr = np.arange(3)
    conv = default_convert(arr)
    assert isinstance(conv, ember.Tensor) and np.shares_memory(conv.numpy(), arr)
    assert default_convert("text") == "text" and default_convert(None) is None
    out = default_convert((np.float64(1.0), [np.int32(2)]))
    assert type(out) is list and out[0].dtype == ember.float64
    assert out[1][0].dtype == ember.int32


def test_collate_with_custom_map():
    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)

    custom = {**default_collate_fn_map, Box: collate_box}
    out = collate([{"b": Box(1), "t": 1.0}, {"b": Box(2), "t": 2.0}], collate_fn_map=custom)
    assert out["b"] == 3 and out["t"].dtype == ember.float64
    # subclasses are matched through isinstance, in the map's order
    class SmallBox(Box):
        pass
    assert collate([SmallBox(4), SmallBox(5)], collate_fn_map=custom) == 9
    with pytest.raises(TypeError, match="found <class"):
        collate([Box(1)], collate_fn_map=None)


def test_collate_large_batch_outside_workers_is_plain_memory():
    # shared memory is only used inside DataLoader workers
    out = default_collate([ember.zeros(200, 1000) for _ in range(4)])
    base = out.numpy()
    while isinstance(base.base, np.ndarray):
        base = base.base
    assert not isinstance(base.base, memoryview)
